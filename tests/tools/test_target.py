"""Tests of ``--settings MODULE:CLASS`` / ``path/file.py:CLASS`` resolution."""

from __future__ import annotations

from pathlib import Path

import pytest

import envconf
from envconf.errors import UsageError
from envconf.tools.target import import_settings_class

SOURCE = """
import envconf
from pydantic import BaseModel

class AppSettings(envconf.Settings):
    port: int = 1

class NotSettings(BaseModel):
    port: int = 1

value = 3
"""


@pytest.fixture
def module_dir(workdir: Path) -> Path:
    (workdir / "target_mod_a.py").write_text(SOURCE)
    (workdir / "pkg").mkdir()
    (workdir / "pkg" / "conf.py").write_text(SOURCE)
    return workdir


def test_a_module_in_the_current_directory_is_importable(module_dir: Path) -> None:
    cls = import_settings_class("target_mod_a:AppSettings")
    assert issubclass(cls, envconf.Settings)


def test_a_file_path_is_importable(module_dir: Path) -> None:
    cls = import_settings_class("pkg/conf.py:AppSettings")
    assert cls.__name__ == "AppSettings"


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("target_mod_a", "expected MODULE:CLASS"),
        (":AppSettings", "expected MODULE:CLASS"),
        ("no_such_module_xyz:AppSettings", "cannot import"),
        ("pkg/missing.py:AppSettings", "no such file"),
        ("target_mod_a:Missing", "has no attribute Missing"),
        ("target_mod_a:NotSettings", "not an envconf.Settings subclass"),
        ("target_mod_a:value", "not an envconf.Settings subclass"),
    ],
)
def test_bad_specs_are_usage_errors_naming_the_problem(
    module_dir: Path, spec: str, words: str
) -> None:
    with pytest.raises(UsageError, match=words) as info:
        import_settings_class(spec)
    assert info.value.exit_code == 2


def test_an_exception_while_importing_user_code_is_a_usage_error(workdir: Path) -> None:
    (workdir / "target_mod_broken.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(UsageError, match="RuntimeError: boom"):
        import_settings_class("target_mod_broken:AppSettings")
