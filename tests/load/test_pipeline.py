"""The load pipeline on pydantic-settings' machinery: sources, hooks, keywords, CLI.

``make compat`` runs pydantic-settings' own suite; these are the envconf-side promises:
what pydantic-settings does is done, and every value still has an origin.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_settings import CliApp, PydanticBaseSettingsSource

import envconf
from envconf.load.pipeline import constructor_keywords, split_keywords, uses_pydantic_cli


class Database(BaseModel):
    host: str = "localhost"
    port: int = 5432


class Vault(PydanticBaseSettingsSource):
    """A custom source that knows nothing of origins."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return {"db": {"host": "vault.internal"}}


def team_defaults() -> dict[str, Any]:
    return {"workers": 4}


class Custom(envconf.Settings):
    model_config = envconf.SettingsConfigDict(
        env_prefix="APP_", env_nested_delimiter="__", secrets_dir=None
    )

    workers: int = 1
    db: Database = Database()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[Any],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[Any, ...]:
        return init_settings, env_settings, Vault(settings_cls), team_defaults


def test_custom_sources_are_layers_named_after_the_source() -> None:
    settings = Custom.load(env={"APP_DB__PORT": "6000"})
    assert (settings.workers, settings.db.host, settings.db.port) == (4, "vault.internal", 6000)
    origins = envconf.explain(settings)
    assert (origins["db.host"].source, origins["db.host"].location) == ("Vault", "Vault")
    assert origins["workers"].source == "team_defaults"
    assert origins["db.port"].location == "APP_DB__PORT"
    assert envconf.explain(settings)["db.host"].overridden[-1].source == "default"


def test_constructor_keywords_are_split_from_field_values() -> None:
    assert {
        "_env_file",
        "_secrets_dir",
        "_cli_parse_args",
        "_build_sources",
    } <= constructor_keywords()
    options, values = split_keywords({"_env_file": ".env", "workers": 2})
    assert (options, values) == ({"_env_file": ".env"}, {"workers": 2})


def test_env_file_and_case_sensitive_keywords_mean_what_they_mean_in_pydantic_settings(
    workdir: Path,
) -> None:
    (workdir / "custom.env").write_text("APP_WORKERS=7\n")

    class Plain(envconf.Settings):
        model_config = envconf.SettingsConfigDict(env_prefix="APP_", secrets_dir=None)
        workers: int = 1

    settings = Plain(_env_file="custom.env")
    assert settings.workers == 7
    assert envconf.explain(settings)["workers"].location == "custom.env:1"
    with pytest.raises(envconf.ConfigError, match="required, not set"):

        class Exact(envconf.Settings):
            model_config = envconf.SettingsConfigDict(secrets_dir=None)
            name: str

        import os

        os.environ["NAME"] = "x"
        try:
            Exact(_case_sensitive=True)
        finally:
            del os.environ["NAME"]


class Cli(envconf.Settings):
    model_config = envconf.SettingsConfigDict(
        cli_parse_args=True, cli_prog_name="app", secrets_dir=None, cli_exit_on_error=False
    )

    workers: int = 1
    db: Database = Database()


def test_a_model_with_pydantic_cli_settings_gets_pydantic_settings_cli() -> None:
    assert uses_pydantic_cli(Cli, {})
    assert not uses_pydantic_cli(Custom, {})
    settings = Cli.load(argv=["--workers", "3", "--db.port", "7"], env={})
    assert (settings.workers, settings.db.port) == (3, 7)
    assert envconf.explain(settings)["workers"] == envconf.Origin(
        "cli", "--workers", (envconf.Origin("default", "default"),)
    )


def test_cli_app_runs_an_envconf_settings_class() -> None:
    settings = CliApp.run(Cli, cli_args=["--workers", "5"])
    assert settings.workers == 5
    assert envconf.explain(settings)["workers"].source == "cli"


def test_a_settings_class_is_not_kept_alive_by_envconf() -> None:
    import gc
    import weakref

    def make() -> weakref.ref[type[envconf.Settings]]:
        class Temporary(envconf.Settings):
            model_config = envconf.SettingsConfigDict(secrets_dir=None)
            workers: int = 1

        Temporary.load(env={"WORKERS": "2"})
        envconf.explain(Temporary.load(env={}))
        return weakref.ref(Temporary)

    ref = make()
    gc.collect()
    assert ref() is None  # what envconf derives lives on the class, not in a global cache
