"""The public API: exactly the names in ``envconf.__all__``, loaded lazily."""

from __future__ import annotations

import subprocess
import sys

import pytest

import envconf

PUBLIC = {
    "ArgvSource",
    "ConfigError",
    "ConfigFileSource",
    "DataDir",
    "Origin",
    "Problem",
    "SecretOnCommandLineWarning",
    "Settings",
    "SettingsConfigDict",
    "UnknownVariableWarning",
    "explain",
}


def test_all_is_sorted_and_exactly_the_public_names() -> None:
    assert envconf.__all__ == sorted(envconf.__all__)
    assert set(envconf.__all__) == PUBLIC


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(envconf, name) is not None
    assert name in dir(envconf)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        envconf.nope  # noqa: B018


def test_explain_stays_the_function_after_its_module_is_imported() -> None:
    import envconf.load.report

    assert callable(envconf.explain)
    assert envconf.explain.__module__ == "envconf.load.report"


def test_config_error_is_a_value_error() -> None:
    assert issubclass(envconf.ConfigError, ValueError)


def test_importing_envconf_does_not_import_pydantic() -> None:
    code = (
        "import sys, envconf, envconf.errors, envconf.origin; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pydantic', 'pydantic_settings', 'pydantic_core', 'yaml', 'jinja2')); "
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == ""
