"""pydantic errors become located, secret-free problems."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, Field, SecretStr, field_validator

import envconf


class Database(BaseModel):
    port: int = 5432
    password: SecretStr | None = None


class Checked(envconf.Settings):
    model_config = envconf.SettingsConfigDict(
        env_prefix="V_", env_nested_delimiter="__", secrets_dir=None
    )

    required_count: int
    dsn_port: int = 0
    note: str = ""
    token: SecretStr | None = None
    db: Database = Database()

    @field_validator("token")
    @classmethod
    def _echo(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().startswith("bad"):
            raise ValueError(f"token {value.get_secret_value()} is not allowed")
        return value


def fail(env: dict[str, str]) -> envconf.ConfigError:
    with pytest.raises(envconf.ConfigError) as exc:
        Checked.load(env=env)
    return exc.value


def test_a_missing_required_key_says_how_to_set_it() -> None:
    [problem] = fail({}).problems
    assert problem.key == "required_count"
    assert problem.message == (
        "required, not set; set V_REQUIRED_COUNT, V_REQUIRED_COUNT_FILE, --required-count or "
        "'required_count' in a config file"
    )


def test_a_wrong_value_is_shown_with_its_origin() -> None:
    [problem] = fail({"V_REQUIRED_COUNT": "many"}).problems
    assert (problem.key, problem.source, problem.location, problem.value) == (
        "required_count",
        "env",
        "V_REQUIRED_COUNT",
        "many",
    )
    assert str(problem).startswith("required_count: V_REQUIRED_COUNT='many' (env): ")


def test_a_dsn_password_in_a_shown_value_is_redacted() -> None:
    exc = fail({"V_REQUIRED_COUNT": "1", "V_DSN_PORT": "postgres://u:hunter2@h/db"})
    assert exc.problems[0].value == "postgres://u:***@h/db"
    assert "hunter2" not in str(exc)


def test_a_long_value_is_shortened_when_shown() -> None:
    exc = fail({"V_REQUIRED_COUNT": "x" * 500})
    assert exc.problems[0].value == "x" * 500  # whole: redacted before any cut
    assert f"='{'x' * 77}...' (env)" in str(exc)


def test_a_secret_value_is_never_shown() -> None:
    exc = fail({"V_REQUIRED_COUNT": "1", "V_DB": '{"password": 5}'})
    [problem] = exc.problems
    assert (problem.key, problem.location, problem.value) == ("db.password", "V_DB", None)


def test_a_value_from_a_secret_file_is_never_shown(tmp_path: Path) -> None:
    (tmp_path / "n").write_text("not-a-number\n")
    exc = fail({"V_REQUIRED_COUNT_FILE": str(tmp_path / "n")})
    [problem] = exc.problems
    assert problem.value is None
    assert "not-a-number" not in str(exc)


def test_a_validator_echoing_a_secret_is_scrubbed() -> None:
    exc = fail({"V_REQUIRED_COUNT": "1", "V_TOKEN": "bad-hunter2"})
    [problem] = exc.problems
    assert "bad-hunter2" not in str(exc)
    assert "**********" in problem.message


def test_no_pydantic_input_leaks_into_messages() -> None:
    exc = fail({"V_REQUIRED_COUNT": "zzz-input-zzz", "V_DB__PORT": "yyy-input-yyy"})
    for problem in exc.problems:
        assert "input_value" not in problem.message and "type=" not in problem.message
        assert "zzz" not in problem.message and "yyy" not in problem.message
        assert "errors.pydantic.dev" not in problem.message
    assert exc.__cause__ is None and exc.__context__ is None


def test_every_error_is_reported() -> None:
    exc = fail({"V_DSN_PORT": "a", "V_DB__PORT": "b", "V_NOTE": "ok"})
    assert [p.key for p in exc.problems] == ["required_count", "dsn_port", "db.port"]


class Maps(envconf.Settings):
    model_config = envconf.SettingsConfigDict(env_prefix="M_", secrets_dir=None)

    tokens: dict[str, SecretStr] = Field(default_factory=dict)
    ports: dict[str, int] = Field(default_factory=dict)


def test_an_error_inside_a_mapping_names_the_entry_line_and_value(workdir: Path) -> None:
    (workdir / "m.yaml").write_text("ports:\n  x: 1\n  y: nope\n")
    with pytest.raises(envconf.ConfigError) as exc:
        Maps.load(env={}, config_files=["m.yaml"])
    [problem] = exc.value.problems
    assert (problem.key, problem.location, problem.value) == ("ports.y", "m.yaml:3", "nope")


def test_values_in_a_mapping_of_secrets_are_never_shown(workdir: Path) -> None:
    (workdir / "m.yaml").write_text("tokens:\n  a: hunter2\n  b: [1]\n")
    with pytest.raises(envconf.ConfigError) as exc:
        Maps.load(env={}, config_files=["m.yaml"])
    [problem] = exc.value.problems
    assert (problem.key, problem.location, problem.value) == ("tokens.b", "m.yaml:3", None)
    assert "hunter2" not in str(exc.value)
