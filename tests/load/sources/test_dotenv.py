"""The ``dotenv`` layer: ``.env`` files in python-dotenv syntax, with ``${VAR}`` expansion."""

from __future__ import annotations

from pathlib import Path

import pytest

import envconf
from envconf.load.sources.dotenv import dotenv_entries


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def values(paths: list[str], env: dict[str, str]) -> dict[str, str]:
    entries, problems = dotenv_entries(paths, env)
    assert problems == []
    return {e.name: e.value for e in entries}


def test_entries_keep_file_order_and_line_locations(tmp_path: Path) -> None:
    path = write(tmp_path / ".env", "# c\n\nA=1\nexport B=two words\n")
    entries, problems = dotenv_entries([path], {})
    assert problems == []
    assert [(e.name, e.value, e.location) for e in entries] == [
        ("A", "1", f"{path}:3"),
        ("B", "two words", f"{path}:4"),
    ]


def test_an_absent_file_is_skipped(tmp_path: Path) -> None:
    assert dotenv_entries([str(tmp_path / ".env")], {}) == ([], [])


def test_references_resolve_against_env_then_earlier_names(tmp_path: Path) -> None:
    path = write(tmp_path / ".env", 'HOST=db\nURL="${HOST}:${PORT}"\nBARE=$HOST/x\n')
    assert values([path], {"PORT": "5432", "HOST": "from-env"}) == {
        "HOST": "db",
        "URL": "from-env:5432",
        "BARE": "from-env/x",
    }


def test_defaults_follow_compose_syntax(tmp_path: Path) -> None:
    path = write(tmp_path / ".env", "A=${UNSET:-fallback}\nB=${EMPTY-kept}\n")
    assert values([path], {"EMPTY": ""}) == {"A": "fallback", "B": ""}


def test_single_quoted_values_are_not_interpolated(tmp_path: Path) -> None:
    path = write(tmp_path / ".env", "A='${NOPE} $HOME'\n")
    assert values([path], {"HOME": "/root"}) == {"A": "${NOPE} $HOME"}


def test_an_unset_reference_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path / ".env", "A=1\nB=${NOPE}\n")
    entries, problems = dotenv_entries([path], {})
    assert [e.name for e in entries] == ["A"]
    [problem] = problems
    assert (problem.source, problem.location) == ("dotenv", f"{path}:2")
    assert "NOPE" in problem.message


def test_a_cycle_is_reported_not_emptied(tmp_path: Path) -> None:
    path = write(tmp_path / ".env", "A=${B}\nB=${A}\n")
    entries, problems = dotenv_entries([path], {})
    assert entries == []
    assert [p.location for p in problems] == [f"{path}:1", f"{path}:2"]
    assert "cycle" in problems[0].message


def test_a_self_reference_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path / ".env", "A=x${A}\n")
    _, problems = dotenv_entries([path], {})
    assert len(problems) == 1


def test_a_syntax_error_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path / ".env", "A=1\nB='unclosed\n")
    _, problems = dotenv_entries([path], {})
    assert [p.location for p in problems] == [f"{path}:2"]


def test_a_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / ".env")
    _, problems = dotenv_entries([str(tmp_path / ".env")], {})
    assert [p.message for p in problems] == ["env file is not a regular file"]


class Dot(envconf.Settings):
    model_config = envconf.SettingsConfigDict(
        env_prefix="APP_", env_nested_delimiter="__", env_file=(".env", ".env.local")
    )

    name: str = "x"
    port: int = 1


def test_later_env_files_win_and_env_beats_dotenv(env: dict[str, str], workdir: Path) -> None:
    (workdir / ".env").write_text("APP_NAME=base\nAPP_PORT=2\n")
    (workdir / ".env.local").write_text("APP_NAME=local\n")
    settings = Dot.load(env=env)
    assert (settings.name, settings.port) == ("local", 2)
    assert envconf.explain(settings)["name"].location == ".env.local:1"
    env["APP_NAME"] = "env"
    assert Dot.load(env=env).name == "env"


def test_unprefixed_dotenv_names_only_feed_interpolation(
    env: dict[str, str], workdir: Path
) -> None:
    (workdir / ".env").write_text("NAME=plain\nAPP_NAME=${NAME}!\n")
    assert Dot.load(env=env).name == "plain!"


def test_dotenv_problems_raise_config_error(env: dict[str, str], workdir: Path) -> None:
    (workdir / ".env").write_text("APP_NAME=${APP_PORT}\nAPP_PORT=${APP_NAME}\n")
    with pytest.raises(envconf.ConfigError) as exc:
        Dot.load(env=env)
    assert len(exc.value.problems) == 2
