"""A secret planted through every source never shows up in any message or report."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Annotated

import pytest
from pydantic import BaseModel, Field, Secret, SecretStr

import envconf
from envconf.load.classinfo import class_info as class_state
from envconf.load.report import explain_data, explain_table
from envconf.load.sources.argv import render_help
from envconf.tools.docs import dotenv_example, markdown_reference

CANARY = "canary-7f3e9c1d-b0b0-4ae1"  # 25 characters: shorter than `token` allows


class Database(BaseModel):
    password: SecretStr | None = None


class Guarded(envconf.Settings):
    model_config = envconf.SettingsConfigDict(
        env_prefix="APP_",
        env_nested_delimiter="__",
        config_files=["app.yaml"],
        env_file=".env",
        secrets_dir="secrets",
    )

    workers: int = 1
    token: SecretStr | None = Field(default=None, min_length=40)
    short: Annotated[SecretStr, Field(min_length=40)] | None = None
    pin: Secret[int] | None = None
    plain_secret: SecretStr | None = None
    db: Database = Database()


class WithSecretDefault(envconf.Settings):
    model_config = envconf.SettingsConfigDict(env_prefix="W_", secrets_dir=None)

    token: SecretStr = SecretStr(CANARY)
    dsn: SecretStr = Field(default=SecretStr(f"postgres://u:{CANARY}@h/db"), description="DSN")


SOURCES = ["var_file", "secrets_dir", "dotenv", "config_file", "cli", "env", "init", "env_json"]


def plant(source: str, field: str, value: str, workdir: Path) -> tuple[dict[str, str], list[str]]:
    """Put ``value`` into ``field`` through ``source``; returns (env, argv)."""
    env: dict[str, str] = {}
    argv: list[str] = []
    name = "APP_" + field.upper()
    if source == "var_file":
        (workdir / "value").write_text(value + "\n")
        env[name + "_FILE"] = str(workdir / "value")
    elif source == "secrets_dir":
        (workdir / "secrets").mkdir(exist_ok=True)
        (workdir / "secrets" / field).write_text(value + "\n")
    elif source == "dotenv":
        (workdir / ".env").write_text(f"{name}={value}\n")
    elif source == "config_file":
        (workdir / "app.yaml").write_text(f"{field}: {value}\n")
    elif source == "cli":
        argv = [f"--{field.replace('_', '-')}", value]
    elif source == "env":
        env[name] = value
    elif source == "env_json":  # inside a JSON object for a nested model, beside the field
        env["APP_DB"] = json.dumps({"password": value})
        env[name] = value
    return env, argv


def load(source: str, env: dict[str, str], argv: list[str], field: str, value: str) -> Guarded:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", envconf.SecretOnCommandLineWarning)
        if source == "init":  # the constructor reads os.environ: pass the rest as keywords
            others = {k[4:].lower(): v for k, v in env.items() if "__" not in k}
            return Guarded(**{field: value, **others})
        return Guarded.load(argv=argv, env=env)


def texts_of(exc: envconf.ConfigError) -> list[str]:
    out = [str(exc), repr(exc), exc.format(), repr(exc.problems)]
    out += [str(p) for p in exc.problems]
    chained: BaseException | None = exc.__cause__ or exc.__context__
    while chained is not None:
        out += [str(chained), repr(chained)]
        chained = chained.__cause__ or chained.__context__
    return out


def assert_hidden(texts: list[str]) -> None:
    for text in texts:
        assert CANARY not in text


@pytest.mark.parametrize("field", ["token", "short"])
@pytest.mark.parametrize("source", SOURCES)
def test_a_secret_too_short_is_reported_without_its_value(
    source: str, field: str, workdir: Path
) -> None:
    env, argv = plant(source, field, CANARY, workdir)
    with pytest.raises(envconf.ConfigError) as exc:
        load(source, env, argv, field, CANARY)
    assert [p.key for p in exc.value.problems] == [field]
    assert_hidden(texts_of(exc.value))


@pytest.mark.parametrize("source", SOURCES)
def test_a_secret_of_the_wrong_type_is_reported_without_its_value(
    source: str, workdir: Path
) -> None:
    env, argv = plant(source, "pin", CANARY, workdir)
    with pytest.raises(envconf.ConfigError) as exc:
        load(source, env, argv, "pin", CANARY)
    assert [p.key for p in exc.value.problems] == ["pin"]
    assert_hidden(texts_of(exc.value))


@pytest.mark.parametrize("source", SOURCES)
def test_a_valid_secret_beside_failing_fields_stays_hidden(source: str, workdir: Path) -> None:
    env, argv = plant(source, "plain_secret", CANARY, workdir)
    env["APP_WORKERS"] = "not-a-number"
    env["APP_DB__PASSWORD"] = "x"
    env["APP_PIN"] = "also-not-a-number"
    with pytest.raises(envconf.ConfigError) as exc:
        load(source, env, argv, "plain_secret", CANARY)
    assert {p.key for p in exc.value.problems} >= {"workers", "pin"}
    assert_hidden(texts_of(exc.value))


@pytest.mark.parametrize("source", SOURCES)
def test_a_loaded_secret_is_hidden_in_repr_and_reports(source: str, workdir: Path) -> None:
    env, argv = plant(source, "plain_secret", CANARY, workdir)
    settings = load(source, env, argv, "plain_secret", CANARY)
    assert settings.plain_secret is not None
    assert settings.plain_secret.get_secret_value() == CANARY
    assert_hidden(
        [
            repr(settings),
            str(settings),
            settings.model_dump_json(),
            explain_table(settings),
            json.dumps(explain_data(settings)),
            *(str(o) for o in envconf.explain(settings).values()),
        ]
    )


@pytest.mark.parametrize(
    ("env", "config"),
    [
        ({"APP_DB": json.dumps({"passwrd": CANARY})}, ""),
        ({"APP_DB": json.dumps({"password": [CANARY]})}, ""),
        ({"APP_DB": "{" + CANARY}, ""),
        ({}, f"db:\n  passwrd: {CANARY}\n"),
        ({}, f"db:\n  password: [{CANARY}]\n"),
        ({}, f"token: !!int {CANARY}\n"),
        ({}, f'token: "{CANARY}\n'),
    ],
)
def test_malformed_input_holding_a_secret_is_reported_without_it(
    env: dict[str, str], config: str, workdir: Path
) -> None:
    if config:
        (workdir / "app.yaml").write_text(config)
    with pytest.raises(envconf.ConfigError) as exc:
        Guarded.load(env=env)
    assert_hidden(texts_of(exc.value))


def test_secret_defaults_are_hidden_in_docs_help_and_reports(workdir: Path) -> None:
    settings = WithSecretDefault.load(env={})
    assert_hidden(
        [
            markdown_reference(WithSecretDefault),
            dotenv_example(WithSecretDefault),
            render_help(class_state(WithSecretDefault).spec, "app"),
            repr(settings),
            explain_table(settings),
            json.dumps(explain_data(settings)),
        ]
    )


def test_a_secret_echoed_by_a_validator_is_scrubbed(workdir: Path) -> None:
    from pydantic import field_validator

    class Echo(envconf.Settings):
        model_config = envconf.SettingsConfigDict(env_prefix="E_", secrets_dir=None)
        token: SecretStr

        @field_validator("token")
        @classmethod
        def _check(cls, value: SecretStr) -> SecretStr:
            raise ValueError(f"rejected {value.get_secret_value()!r}")

    with pytest.raises(envconf.ConfigError) as exc:
        Echo.load(env={"E_TOKEN": CANARY})
    assert_hidden(texts_of(exc.value))
