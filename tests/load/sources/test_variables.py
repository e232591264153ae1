"""The ``env`` and ``dotenv`` layers: pydantic-settings' meaning, plus origins and ``VAR_FILE``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import AliasChoices, BaseModel, Field, SecretStr

import envconf
from envconf.errors import Problem, UnknownVariableWarning
from envconf.load.source import LoadContext
from envconf.load.sources.env import EnvSource
from envconf.load.tree import Leaf, Tree
from envconf.origin import Origin


class Database(BaseModel):
    port: int = 5432
    password: SecretStr | None = None


class Vars(envconf.Settings):
    model_config = envconf.SettingsConfigDict(
        env_prefix="APP_", env_nested_delimiter="__", secrets_dir=None
    )

    workers: int = 1
    log: str = "info"
    tags: list[str] = Field(default_factory=list)
    limits: dict[str, int] = Field(default_factory=dict)
    db: Database = Database()


def layer(env: dict[str, str], cls: type[envconf.Settings] = Vars) -> tuple[Tree, list[Problem]]:
    found = EnvSource(cls).layer(LoadContext(env))
    return found.tree, found.problems


def env_leaf(value: Any, name: str) -> Leaf:
    return Leaf(value, Origin("env", name))


def test_prefixed_names_become_leaves_with_their_origin() -> None:
    assert layer({"APP_DB__PORT": "6000"}) == (
        {"db": {"port": env_leaf("6000", "APP_DB__PORT")}},
        [],
    )


def test_values_stay_text_for_scalar_fields() -> None:
    tree, _ = layer({"APP_WORKERS": "012"})
    assert tree["workers"] == env_leaf("012", "APP_WORKERS")


def test_names_without_the_prefix_are_ignored_and_unknown_prefixed_ones_warned_about() -> None:
    with pytest.warns(
        UnknownVariableWarning, match=r"APP_WORKRS: .* \(did you mean APP_WORKERS\?\)"
    ):
        assert layer({"WORKERS": "2", "DB__PORT": "1", "APP_WORKRS": "2"}) == ({}, [])


def test_names_differing_by_case_are_an_error_naming_both() -> None:
    _, problems = layer({"app_log": "a", "APP_LOG": "b"})
    assert [p.message for p in problems] == ["app_log and APP_LOG both set this key; keep one"]


def test_file_names_differing_by_case_are_an_error_too(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    _, problems = layer({"app_log_file": str(tmp_path / "f"), "APP_LOG_FILE": str(tmp_path / "f")})
    assert "app_log_file and APP_LOG_FILE" in problems[0].message


def test_complex_fields_are_decoded_as_json() -> None:
    tree, _ = layer({"APP_TAGS": '["a"]'})
    assert tree["tags"] == env_leaf(["a"], "APP_TAGS")


def test_invalid_json_is_a_problem_naming_the_variable() -> None:
    _, problems = layer({"APP_TAGS": "[a"})
    assert [(p.key, p.location) for p in problems] == [("tags", "APP_TAGS")]
    assert problems[0].message.startswith("not valid JSON")


def test_a_model_takes_a_json_object_each_leaf_naming_the_variable() -> None:
    tree, _ = layer({"APP_DB": '{"port": 1}'})
    assert tree == {"db": {"port": env_leaf(1, "APP_DB")}}


@pytest.mark.parametrize("nested_first", [True, False])
def test_a_nested_variable_beats_the_same_key_in_a_model_json(nested_first: bool) -> None:
    items = [("APP_DB__PORT", "2"), ("APP_DB", '{"port": 1}')]
    tree, _ = layer(dict(items if nested_first else items[::-1]))
    assert tree == {"db": {"port": env_leaf("2", "APP_DB__PORT")}}


def test_a_dict_field_takes_nested_variables_key_by_key() -> None:
    tree, _ = layer({"APP_LIMITS": '{"a": 1}', "APP_LIMITS__B": "2"})
    assert tree == {"limits": {"a": env_leaf(1, "APP_LIMITS"), "b": env_leaf("2", "APP_LIMITS__B")}}


def test_file_variable_reads_the_file_as_a_secret(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret\n")
    tree, problems = layer({"APP_DB__PASSWORD_FILE": str(tmp_path / "pw")})
    assert problems == []
    origin = Origin("env", f"{tmp_path / 'pw'} (via APP_DB__PASSWORD_FILE)")
    assert tree == {"db": {"password": Leaf("s3cret", origin, secret=True)}}


def test_complex_value_from_a_file_is_json_too(tmp_path: Path) -> None:
    (tmp_path / "tags").write_text('["a", "b"]\n')
    tree, problems = layer({"APP_TAGS_FILE": str(tmp_path / "tags")})
    assert problems == []
    assert tree["tags"].value == ["a", "b"]  # type: ignore[union-attr]


def test_an_empty_file_variable_is_ignored() -> None:
    assert layer({"APP_LOG_FILE": "", "APP_LOG": "x"}) == ({"log": env_leaf("x", "APP_LOG")}, [])


def test_both_set_is_an_error_and_the_file_is_not_read() -> None:
    _, problems = layer({"APP_LOG": "x", "APP_LOG_FILE": "/nonexistent"})
    assert [p.message for p in problems] == ["both APP_LOG and APP_LOG_FILE are set; set only one"]


@pytest.mark.filterwarnings("ignore::envconf.errors.UnknownVariableWarning")
def test_a_file_variable_for_no_key_is_never_opened() -> None:
    assert layer({"LOG_FILE": "/dev/zero", "APP_NOPE_FILE": "/dev/zero", "PID_FILE": "/x"}) == (
        {},
        [],
    )


def test_an_unreadable_file_is_a_problem_naming_variable_and_path() -> None:
    _, problems = layer({"APP_LOG_FILE": "/nonexistent/x"})
    [problem] = problems
    assert (problem.key, problem.location) == ("log", "APP_LOG_FILE")
    assert problem.message == "/nonexistent/x: secret file not found"


@pytest.mark.filterwarnings("ignore::envconf.errors.UnknownVariableWarning")
def test_case_sensitive_models_match_names_exactly() -> None:
    class Exact(envconf.Settings):
        model_config = envconf.SettingsConfigDict(
            env_prefix="APP_", case_sensitive=True, secrets_dir=None
        )
        workers: int = 1

    assert layer({"APP_WORKERS": "2", "app_workers": "3"}, Exact) == ({}, [])
    assert layer({"APP_workers": "2"}, Exact)[0] == {"workers": env_leaf("2", "APP_workers")}


class Aliased(envconf.Settings):
    model_config = envconf.SettingsConfigDict(env_prefix="APP_", secrets_dir=None)

    redis_url: str = Field(default="", alias="REDIS_URL")
    database_url: str = Field(default="", validation_alias=AliasChoices("DATABASE_URL", "DB_URL"))


def test_aliases_are_the_variable_names_as_in_pydantic_settings() -> None:
    tree, _ = layer({"REDIS_URL": "redis://r", "DB_URL": "pg://d"}, Aliased)
    assert tree == {
        "REDIS_URL": env_leaf("redis://r", "REDIS_URL"),
        "DATABASE_URL": env_leaf("pg://d", "DB_URL"),
    }
    settings = Aliased.load(env={"REDIS_URL": "redis://r", "DB_URL": "pg://d"})
    assert (settings.redis_url, settings.database_url) == ("redis://r", "pg://d")
    assert envconf.explain(settings)["database_url"].location == "DB_URL"


def test_an_aliased_field_reads_its_var_file(tmp_path: Path) -> None:
    (tmp_path / "url").write_text("redis://secret\n")
    settings = Aliased.load(env={"REDIS_URL_FILE": str(tmp_path / "url")})
    assert settings.redis_url == "redis://secret"
    assert (
        envconf.explain(settings)["redis_url"].location
        == f"{tmp_path / 'url'} (via REDIS_URL_FILE)"
    )


def test_a_lower_case_file_variable_is_read_in_a_case_insensitive_model(tmp_path: Path) -> None:
    (tmp_path / "w").write_text("7\n")
    tree, problems = layer({"app_workers_file": str(tmp_path / "w")})
    assert problems == []
    assert tree["workers"].value == "7"  # type: ignore[union-attr]


def test_a_later_env_file_overrides_an_earlier_one_and_says_so(workdir: Path) -> None:
    (workdir / "base.env").write_text("APP_WORKERS=2\n")
    (workdir / "local.env").write_text("APP_WORKERS=5\n")

    class Files(envconf.Settings):
        model_config = envconf.SettingsConfigDict(
            env_prefix="APP_", env_file=["base.env", "local.env"], secrets_dir=None
        )
        workers: int = 1

    settings = Files.load(env={})
    assert settings.workers == 5
    assert str(envconf.explain(settings)["workers"]) == (
        "local.env:1 (dotenv), overriding base.env:1 (dotenv), default"
    )
