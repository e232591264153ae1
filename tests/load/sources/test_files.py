"""The ``file`` layer: which files, profiles, reading, templates and interpolation."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import Field

import envconf
from envconf.fileread import FileVariables
from envconf.load.classinfo import class_info
from envconf.load.names import NameIndex
from envconf.load.source import FileReport, LoadContext
from envconf.load.sources.files import (
    ConfigFileSource,
    FileCandidate,
    choose_files,
    file_format,
    profile_path,
    with_profiles,
)
from envconf.load.sources.files import load_file as load_file_problems
from envconf.load.tree import Leaf, Scalar, Tree
from envconf.origin import Origin


class Files(envconf.Settings):
    model_config = envconf.SettingsConfigDict(
        env_prefix="APP_", env_nested_delimiter="__", secrets_dir=None
    )

    name: str = ""
    port: int = 0


@pytest.fixture
def index() -> NameIndex:
    return class_info(Files).names


def load_file(
    path: str, env: dict[str, str], index: NameIndex, *, interpolation: bool, allow_unset: bool
) -> Tree:
    tree, problems = load_file_problems(
        path, FileVariables(env), index, interpolation=interpolation, allow_unset=allow_unset
    )
    assert problems == []
    return tree


# --- choose_files --------------------------------------------------------------------------


def test_cli_files_win_and_are_explicit() -> None:
    chosen = choose_files(["a.yaml", "b.yaml"], {"APP_CONFIG": "c.yaml"}, "APP_CONFIG", ["d"])
    assert chosen == [FileCandidate("a.yaml", True), FileCandidate("b.yaml", True)]


def test_config_env_is_split_on_commas_and_explicit() -> None:
    chosen = choose_files([], {"APP_CONFIG": " c.yaml , ,d.toml"}, "APP_CONFIG", ["x"])
    assert chosen == [FileCandidate("c.yaml", True), FileCandidate("d.toml", True)]


def test_configured_files_are_defaults_not_explicit() -> None:
    chosen = choose_files([], {"APP_CONFIG": "  "}, "APP_CONFIG", ["x.yaml"])
    assert chosen == [FileCandidate("x.yaml", False)]


# --- profiles ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("config/app.yaml", "config/app.production.yaml"),
        ("app.toml", "app.production.toml"),
        ("config/app.yaml.j2", "config/app.production.yaml.j2"),
        ("dir.d/settings", "dir.d/settings.production"),
        ("app.env", "app.production.env"),
    ],
)
def test_profile_path(path: str, expected: str) -> None:
    assert profile_path(path, "production") == expected


def test_profile_files_follow_their_base_only_when_present(tmp_path: Path) -> None:
    base = str(tmp_path / "app.yaml")
    (tmp_path / "app.eu.yaml").write_text("")
    chosen, missing = with_profiles([FileCandidate(base, True)], ["production", "eu"])
    assert chosen == [
        FileCandidate(base, True),
        FileCandidate(str(tmp_path / "app.eu.yaml"), False),
    ]
    production = str(tmp_path / "app.production.yaml")
    assert missing == [FileReport(production, False, "profile production: not found")]


# --- formats and reading -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a.yaml", ("yaml", False)),
        ("a.YML", ("yaml", False)),
        ("a.toml", ("toml", False)),
        ("a.json", ("json", False)),
        ("a.env", ("env", False)),
        ("a.yaml.j2", ("yaml", True)),
        ("a.ini", (None, False)),
        ("dir/.env", ("env", False)),
        (".env.production", ("env", False)),
        (".env.j2", ("env", True)),
    ],
)
def test_file_format_by_suffix(path: str, expected: tuple[str | None, bool]) -> None:
    assert file_format(path) == expected


# --- load_file -----------------------------------------------------------------------------


def test_yaml_leaves_stay_scalars_with_lines(tmp_path: Path, index: NameIndex) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("name: 012\nport: 1\n")
    tree = load_file(str(path), {}, index, interpolation=True, allow_unset=False)
    assert tree["name"] == Leaf(Scalar("012"), Origin("file", f"{path}:1"), interpolate=True)


def test_interpolated_leaves_become_text(tmp_path: Path, index: NameIndex) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("name: ${N}\n")
    tree = load_file(str(path), {"N": "012"}, index, interpolation=True, allow_unset=False)
    assert tree["name"] == Leaf("012", Origin("file", f"{path}:1"), via=("N",))


def test_interpolation_can_be_turned_off(tmp_path: Path, index: NameIndex) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("name: ${N}\n")
    tree = load_file(str(path), {}, index, interpolation=False, allow_unset=False)
    assert tree["name"].value == Scalar("${N}")  # type: ignore[union-attr]


def test_allow_unset_expands_to_empty(tmp_path: Path, index: NameIndex) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("name: a${N}b\n")
    tree = load_file(str(path), {}, index, interpolation=True, allow_unset=True)
    assert tree["name"].value == "ab"  # type: ignore[union-attr]


def test_interpolation_reads_var_file(tmp_path: Path, index: NameIndex) -> None:
    (tmp_path / "secret").write_text("s3cret\n")
    path = tmp_path / "a.yaml"
    path.write_text("name: ${PW}\n")
    env = {"PW_FILE": str(tmp_path / "secret")}
    tree = load_file(str(path), env, index, interpolation=True, allow_unset=False)
    assert tree["name"].value == "s3cret"  # type: ignore[union-attr]
    assert tree["name"].secret  # type: ignore[union-attr]  # hidden whatever the field's type


def test_explicitly_tagged_strings_are_interpolated(tmp_path: Path, index: NameIndex) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("name: !!str ${N}\nport: !!int 5\n")
    tree = load_file(str(path), {"N": "x"}, index, interpolation=True, allow_unset=False)
    assert tree["name"].value == "x"  # type: ignore[union-attr]


def test_a_template_is_rendered_then_parsed_not_interpolated(
    tmp_path: Path, index: NameIndex
) -> None:
    path = tmp_path / "a.yaml.j2"
    path.write_text("name: '{{ V }}'\n{% if P %}port: {{ P }}{% endif %}\n")
    tree = load_file(
        str(path), {"V": "${X}", "P": "7"}, index, interpolation=True, allow_unset=False
    )
    assert tree["name"].value == Scalar("${X}", plain=False)  # type: ignore[union-attr]
    assert tree["port"].value == Scalar("7")  # type: ignore[union-attr]


def test_a_template_reads_var_file_only_when_used(tmp_path: Path, index: NameIndex) -> None:
    path = tmp_path / "a.yaml.j2"
    path.write_text("name: x\n")
    env = {"LOG_FILE": "/dev/zero"}
    assert load_file(str(path), env, index, interpolation=True, allow_unset=False)


def test_the_layer_reports_every_file_and_every_problem(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("name: a\n")
    (tmp_path / "bad.yaml").write_text("name: [\n")
    paths = [str(tmp_path / n) for n in ("a.yaml", "missing.yaml", "bad.yaml")]
    layer = ConfigFileSource(Files).layer(LoadContext({}, config_files=paths))
    assert layer.tree == {"name": Leaf("a", Origin("file", f"{paths[0]}:1"), interpolate=True)}
    assert layer.files == (
        FileReport(paths[0], True),
        FileReport(paths[1], False, "not found, skipped"),  # a default file may be absent
        FileReport(paths[2], False, "could not be read"),
    )
    assert [p.location.rpartition(":")[0] for p in layer.problems] == [paths[2]]


def test_later_files_win(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("name: a\nport: 1\n")
    (tmp_path / "b.json").write_text('{"name": "b"}')
    settings = Files.load(env={}, config_files=[str(tmp_path / "a.yaml"), str(tmp_path / "b.json")])
    assert (settings.name, settings.port) == ("b", 1)


def test_an_unset_variable_does_not_hide_the_files_other_problems(workdir: Path) -> None:
    class S(envconf.Settings):
        model_config = envconf.SettingsConfigDict(config_files=["a.yaml"], secrets_dir=None)
        workers: int = 1
        port: int = 1
        host: str

    (workdir / "a.yaml").write_text("workers: abc\nprot: 1\nhost: ${DB_HOST}\n")
    with pytest.raises(envconf.ConfigError) as info:
        S.load(env={})
    found = {(p.key, p.location) for p in info.value.problems}
    assert found == {("workers", "a.yaml:1"), ("prot", "a.yaml:2"), ("host", "a.yaml:3")}


def test_a_j2_config_file_reports_the_template_lines_not_the_rendered_ones(
    tmp_path: Path,
) -> None:
    path = tmp_path / "app.yaml.j2"
    path.write_text(
        "name: a\n"
        "users:\n"
        "{% for u in ['x', 'y', 'z'] %}\n"
        "  - {{ u }}\n"
        "{% endfor %}\n"
        "\n"
        "port: nope\n"  # line 7 of the template, line 10 of the output
        "logging:\n"
        "  level: debug\n"
    )

    class S(envconf.Settings):
        model_config = envconf.SettingsConfigDict(secrets_dir=None)
        name: str = "x"
        port: int = 1
        users: list[str] = Field(default_factory=list)

    with pytest.raises(envconf.ConfigError) as caught:
        S.load(env={}, config_files=[str(path)])
    assert sorted((p.key, p.location) for p in caught.value.problems) == [
        ("logging", f"{path}:8"),
        ("port", f"{path}:7"),
    ]
    path.write_text("name: a\n{% if true %}\nport: 2\n{% endif %}\n")
    assert envconf.explain(S.load(env={}, config_files=[str(path)]))["port"].location == (
        f"{path}:3"
    )
