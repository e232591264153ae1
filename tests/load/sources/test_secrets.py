"""The ``secret`` layer: one file per key in ``secrets_dir``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import BaseModel, Field, SecretStr

import envconf
from envconf.errors import Problem
from envconf.load.source import LoadContext
from envconf.load.sources.secrets import SecretsDirSource
from envconf.load.tree import Leaf, Tree
from envconf.origin import Origin


class Database(BaseModel):
    password: SecretStr | None = None


class Secrets(envconf.Settings):
    model_config = envconf.SettingsConfigDict(env_prefix="APP_", env_nested_delimiter="__")

    db_password: str = ""
    api_key: str = ""
    db: Database = Database()


def secrets_layer(directory: str | None, _: object = None) -> tuple[Tree, list[Problem]]:
    """The secret layer of ``Secrets`` read from ``directory``."""
    layer = SecretsDirSource(Secrets, secrets_dir=directory).layer(LoadContext({}))
    return layer.tree, layer.problems


@pytest.fixture
def index() -> None:
    return None


def secret(value: str, path: Path) -> Leaf:
    return Leaf(value, Origin("secret", str(path)), secret=True)


@pytest.fixture
def secrets(tmp_path: Path) -> Path:
    path = tmp_path / "secrets"
    path.mkdir()
    return path


def test_the_default_secrets_dir_is_run_secrets() -> None:
    assert SecretsDirSource(Secrets).secrets_dir == "/run/secrets"


def test_secrets_dir_none_turns_the_layer_off() -> None:
    class Off(envconf.Settings):
        model_config = envconf.SettingsConfigDict(secrets_dir=None)

    assert SecretsDirSource(Off).layer(LoadContext({})).inputs == ()


def test_of_several_secrets_dirs_a_later_one_wins(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "api_key").write_text(name)

    class Several(envconf.Settings):
        model_config = envconf.SettingsConfigDict(
            env_prefix="APP_", secrets_dir=[str(tmp_path / "a"), str(tmp_path / "b")]
        )
        api_key: str = ""

    settings = Several.load(env={})
    assert settings.api_key == "b"
    origin = envconf.explain(settings)["api_key"]
    assert origin.overridden[0] == envconf.Origin("secret", str(tmp_path / "a" / "api_key"))


def test_an_absent_or_unset_dir_gives_nothing(index: None, tmp_path: Path) -> None:
    assert secrets_layer(str(tmp_path / "absent"), index) == ({}, [])
    assert secrets_layer(None, index) == ({}, [])


def test_a_dir_that_is_a_file_is_an_error(index: None, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    _, problems = secrets_layer(str(tmp_path / "file"), index)
    assert [p.message for p in problems] == ["secrets dir is not a directory"]


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("APP_DB__PASSWORD", ("db", "password")),
        ("db__password", ("db", "password")),
        ("Db__Password", ("db", "password")),
        ("db_password", ("db_password",)),
        ("app_api_key", ("api_key",)),
        ("API_KEY", ("api_key",)),
    ],
)
def test_file_names_match_the_variable_with_or_without_prefix_ignoring_case(
    name: str, path: tuple[str, ...], index: None, secrets: Path
) -> None:
    (secrets / name).write_text("value\n\n")
    tree, problems = secrets_layer(str(secrets), index)
    assert problems == []
    node: object = tree
    for part in path:
        assert isinstance(node, dict)
        node = node[part]
    assert node == secret("value", secrets / name)


def test_only_trailing_newlines_are_stripped(index: None, secrets: Path) -> None:
    (secrets / "api_key").write_bytes(b"  key \t\r\n\n")
    tree, _ = secrets_layer(str(secrets), index)
    assert tree["api_key"].value == "  key \t"  # type: ignore[union-attr]


def test_files_that_name_no_key_are_ignored(index: None, secrets: Path) -> None:
    (secrets / "other_service_token").write_text("x")
    os.mkfifo(secrets / "a_fifo")
    assert secrets_layer(str(secrets), index) == ({}, [])


def test_kubernetes_dot_dot_entries_are_skipped_and_links_into_them_read(
    index: None, secrets: Path
) -> None:
    (secrets / "..2024_05_01").mkdir()
    (secrets / "..2024_05_01" / "api_key").write_text("k8s")
    (secrets / "..data").symlink_to("..2024_05_01")
    (secrets / "api_key").symlink_to("..data/api_key")
    tree, problems = secrets_layer(str(secrets), index)
    assert problems == []
    assert tree == {"api_key": secret("k8s", secrets / "api_key")}


def test_a_link_leaving_the_dir_is_an_error_naming_it(
    index: None, secrets: Path, tmp_path: Path
) -> None:
    (tmp_path / "elsewhere").write_text("x")
    (secrets / "api_key").symlink_to(tmp_path / "elsewhere")
    tree, problems = secrets_layer(str(secrets), index)
    assert tree == {}
    [problem] = problems
    assert (problem.key, problem.location) == ("api_key", str(secrets / "api_key"))
    assert "outside the secrets dir" in problem.message


def test_a_relative_link_climbing_out_is_an_error(index: None, secrets: Path) -> None:
    (secrets / "api_key").symlink_to("../../../../etc/hostname")
    _, problems = secrets_layer(str(secrets), index)
    assert len(problems) == 1


def test_two_files_for_one_key_is_an_error_naming_both(index: None, secrets: Path) -> None:
    (secrets / "API_KEY").write_text("a")
    (secrets / "app_api_key").write_text("b")
    _, problems = secrets_layer(str(secrets), index)
    [problem] = problems
    assert str(secrets / "API_KEY") in problem.message
    assert str(secrets / "app_api_key") in problem.message


def test_a_directory_where_a_file_is_expected_is_skipped_with_a_warning(secrets: Path) -> None:
    (secrets / "api_key").mkdir()  # as pydantic-settings does
    with pytest.warns(UserWarning, match="found a directory instead"):
        assert secrets_layer(str(secrets)) == ({}, [])


def test_a_json_secret_fills_a_dict_field_key_by_key(tmp_path: Path) -> None:
    class Maps(envconf.Settings):
        model_config = envconf.SettingsConfigDict(secrets_dir=str(tmp_path))
        limits: dict[str, int] = Field(default_factory=dict)

    (tmp_path / "limits").write_text('{"a": 1, "b": 2}')
    settings = Maps.load(env={})
    assert settings.limits == {"a": 1, "b": 2}
    assert envconf.explain(settings)["limits"].location == str(tmp_path / "limits")


@pytest.mark.parametrize("kind", ["fifo", "big", "binary"])
def test_an_unusable_file_is_an_error_naming_it(kind: str, index: None, secrets: Path) -> None:
    target = secrets / "api_key"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "big":
        target.write_bytes(b"x" * (1024 * 1024 + 1))
    else:
        target.write_bytes(b"\xff\xfe")
    _, problems = secrets_layer(str(secrets), index)
    [problem] = problems
    assert (problem.key, problem.source, problem.location) == ("api_key", "secret", str(target))


def test_the_secret_layer_loses_to_env_and_wins_over_files(tmp_path: Path) -> None:
    class Layered(envconf.Settings):
        model_config = envconf.SettingsConfigDict(
            env_prefix="APP_", secrets_dir=str(tmp_path), config_files=[str(tmp_path / "c.yaml")]
        )
        api_key: str = ""

    (tmp_path / "api_key").write_text("secret")
    (tmp_path / "c.yaml").write_text("api_key: file\n")
    assert Layered.load(env={}).api_key == "secret"
    assert Layered.load(env={"APP_API_KEY": "env"}).api_key == "env"
