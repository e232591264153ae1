"""NAME=value entries (environment, ``.env``) into a raw tree: names, ``_FILE``, JSON."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, Field, SecretStr

import envconf
from envconf.load.classinfo import class_info as class_state
from envconf.load.names import NameIndex
from envconf.sources.variables import VarEntry, variables_layer
from envconf.load.tree import Leaf


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
    db: Database = Database()


@pytest.fixture
def index() -> NameIndex:
    return class_state(Vars).index


def entries(**values: str) -> list[VarEntry]:
    return [VarEntry(name, value, name) for name, value in values.items()]


def test_prefixed_names_become_leaves_with_their_origin(index: NameIndex) -> None:
    tree, problems = variables_layer(entries(APP_DB__PORT="6000"), index, source="env")
    assert problems == []
    assert tree == {"db": {"port": Leaf("6000", "env", "APP_DB__PORT")}}


def test_values_stay_text_for_scalar_fields(index: NameIndex) -> None:
    tree, _ = variables_layer(entries(APP_WORKERS="012"), index, source="env")
    assert tree["workers"] == Leaf("012", "env", "APP_WORKERS")


def test_names_without_the_prefix_are_ignored_by_default(index: NameIndex) -> None:
    tree, problems = variables_layer(entries(WORKERS="2", DB__PORT="1"), index, source="env")
    assert (tree, problems) == ({}, [])


def test_names_without_the_prefix_are_accepted_when_allowed(index: NameIndex) -> None:
    tree, _ = variables_layer(entries(DB__PORT="1"), index, source="file", allow_unprefixed=True)
    assert tree == {"db": {"port": Leaf("1", "file", "DB__PORT")}}


def test_unknown_names_are_ignored_unless_strict(index: NameIndex) -> None:
    tree, problems = variables_layer(entries(APP_WORKRS="2"), index, source="env")
    assert (tree, problems) == ({}, [])
    _, problems = variables_layer(entries(APP_WORKRS="2"), index, source="file", strict_names=True)
    assert [p.message for p in problems] == ["unknown key APP_WORKRS (did you mean APP_WORKERS?)"]


def test_a_repeated_name_is_an_error_when_strict(index: NameIndex) -> None:
    found = [VarEntry("APP_LOG", "a", "f.env:1"), VarEntry("APP_LOG", "b", "f.env:2")]
    _, problems = variables_layer(found, index, source="file", strict_names=True)
    [problem] = problems
    assert (problem.key, problem.location) == ("log", "f.env:2")
    assert "first at f.env:1" in problem.message


def test_names_differing_by_case_are_an_error_naming_both(index: NameIndex) -> None:
    _, problems = variables_layer(entries(app_log="a", APP_LOG="b"), index, source="env")
    [problem] = problems
    assert problem.message == "app_log and APP_LOG both set this key; keep one"


def test_file_names_differing_by_case_are_an_error_too(index: NameIndex, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    found = entries(app_log_file=str(tmp_path / "f"), APP_LOG_FILE=str(tmp_path / "f"))
    _, problems = variables_layer(found, index, source="env")
    assert "app_log_file and APP_LOG_FILE" in problems[0].message


def test_complex_fields_are_decoded_as_json(index: NameIndex) -> None:
    tree, _ = variables_layer(entries(APP_TAGS='["a"]'), index, source="env")
    assert tree["tags"] == Leaf(["a"], "env", "APP_TAGS")


def test_invalid_json_is_a_problem_naming_the_variable(index: NameIndex) -> None:
    _, problems = variables_layer(entries(APP_TAGS="[a"), index, source="env")
    assert [(p.key, p.location, p.message) for p in problems] == [
        ("tags", "APP_TAGS", "not valid JSON")
    ]


def test_a_model_takes_a_json_object_spread_into_leaves(index: NameIndex) -> None:
    tree, _ = variables_layer(entries(APP_DB='{"port": 1}'), index, source="env")
    assert tree == {"db": {"port": Leaf(1, "env", "APP_DB")}}


@pytest.mark.parametrize("nested_first", [True, False])
def test_a_nested_variable_beats_the_same_key_in_a_model_json(
    nested_first: bool, index: NameIndex
) -> None:
    found = entries(APP_DB__PORT="2", APP_DB='{"port": 1}')
    tree, _ = variables_layer(found if nested_first else found[::-1], index, source="env")
    assert tree == {"db": {"port": Leaf("2", "env", "APP_DB__PORT")}}


def test_a_model_given_a_json_non_object_is_a_problem(index: NameIndex) -> None:
    _, problems = variables_layer(entries(APP_DB="[1]"), index, source="env")
    assert [p.message for p in problems] == ["expected a JSON object"]


def test_file_variable_reads_the_file_as_a_secret_file(index: NameIndex, tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret\n")
    found = entries(APP_DB__PASSWORD_FILE=str(tmp_path / "pw"))
    tree, problems = variables_layer(found, index, source="env")
    assert problems == []
    leaf = tree["db"]["password"]  # type: ignore[index]
    assert isinstance(leaf, Leaf)
    assert (leaf.value, leaf.secret_file) == ("s3cret", True)
    assert leaf.location == f"{tmp_path / 'pw'} (via APP_DB__PASSWORD_FILE)"


def test_complex_value_from_a_file_is_json_too(index: NameIndex, tmp_path: Path) -> None:
    (tmp_path / "tags").write_text('["a", "b"]\n')
    tree, problems = variables_layer(
        entries(APP_TAGS_FILE=str(tmp_path / "tags")), index, source="env"
    )
    assert problems == []
    assert tree["tags"].value == ["a", "b"]  # type: ignore[union-attr]


def test_an_empty_file_variable_is_ignored(index: NameIndex) -> None:
    tree, problems = variables_layer(entries(APP_LOG_FILE="", APP_LOG="x"), index, source="env")
    assert problems == []
    assert tree["log"] == Leaf("x", "env", "APP_LOG")


def test_both_set_is_an_error_and_the_file_is_not_read(index: NameIndex) -> None:
    found = entries(APP_LOG="x", APP_LOG_FILE="/nonexistent")
    _, problems = variables_layer(found, index, source="env")
    assert [p.message for p in problems] == ["both APP_LOG and APP_LOG_FILE are set; set only one"]


def test_a_file_variable_for_no_key_is_never_opened(index: NameIndex) -> None:
    found = entries(LOG_FILE="/dev/zero", APP_NOPE_FILE="/dev/zero", PID_FILE="/x")
    assert variables_layer(found, index, source="env") == ({}, [])


def test_an_unreadable_file_is_a_problem_naming_variable_and_path(index: NameIndex) -> None:
    _, problems = variables_layer(entries(APP_LOG_FILE="/nonexistent/x"), index, source="env")
    [problem] = problems
    assert (problem.key, problem.location) == ("log", "APP_LOG_FILE")
    assert problem.message == "/nonexistent/x: file not found"


def test_case_sensitive_models_match_names_exactly() -> None:
    class Exact(envconf.Settings):
        model_config = envconf.SettingsConfigDict(
            env_prefix="APP_", case_sensitive=True, secrets_dir=None
        )
        workers: int = 1

    index = class_state(Exact).index
    tree, _ = variables_layer(entries(APP_WORKERS="2", app_workers="3"), index, source="env")
    assert tree == {}
    tree, _ = variables_layer(entries(APP_workers="2"), index, source="env")
    assert tree == {"workers": Leaf("2", "env", "APP_workers")}
