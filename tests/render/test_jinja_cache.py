"""Tests of the opt-in compiled Jinja template cache (``render --cache-dir``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from envconf.fileread import FileVariables
from envconf.jinja_engine import jinja_environment, render_jinja
from envconf.render.jinja_cache import SUFFIX, JinjaCache
from envconf.templating import TemplateFailed


def _variable(message: str) -> str:
    """The variable a template problem names: ``VAR: ...`` or ``required variable VAR ...``."""
    if message.startswith("required variable "):
        return message.split()[2]
    return message.partition(":")[0]


def lines_and_names(failed: TemplateFailed) -> list[tuple[int, str]]:
    return [(int(p.location.rpartition(":")[2]), _variable(p.message)) for p in failed.problems]


TEXT = "port={{ PORT }}\n{{ MISSING | default('d') }}\n"


def make(directory: Path) -> tuple[JinjaCache, list[str]]:
    warnings: list[str] = []
    return JinjaCache(str(directory), warnings.append), warnings


def test_a_warm_cache_renders_the_same_output(tmp_path: Path) -> None:
    cache, warnings = make(tmp_path / "c")
    resolver = FileVariables({"PORT": "80"})
    cold = render_jinja(TEXT, "t.j2", resolver, None, cache)
    assert len(list((tmp_path / "c").glob("*" + SUFFIX))) == 1
    warm = render_jinja(TEXT, "t.j2", FileVariables({"PORT": "80"}), None, cache)
    assert cold == warm == "port=80\nd\n"
    assert warnings == []
    assert (tmp_path / "c").stat().st_mode & 0o777 == 0o700


def test_a_cache_hit_skips_parsing_and_compiling(tmp_path: Path) -> None:
    cache, _ = make(tmp_path / "c")
    other = "other={{ PORT }}\n"
    code = jinja_environment().compile(other)
    cache.put(TEXT, ([("PORT", 1)], set(), set()), code)
    assert render_jinja(TEXT, "t.j2", FileVariables({"PORT": "1"}), None, cache) == "other=1\n"


def test_unset_names_are_still_reported_from_a_cached_analysis(tmp_path: Path) -> None:
    cache, _ = make(tmp_path / "c")
    render_jinja(TEXT, "t.j2", FileVariables({"PORT": "1"}), None, cache)
    with pytest.raises(TemplateFailed) as info:
        render_jinja(TEXT, "t.j2", FileVariables({}), None, cache)
    assert lines_and_names(info.value) == [(1, "PORT")]


def test_a_directory_others_can_write_is_not_trusted(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    cache, warnings = make(shared)
    assert not cache.usable
    assert "writable by no one else" in warnings[0]
    assert render_jinja(TEXT, "t.j2", FileVariables({"PORT": "2"}), None, cache) == "port=2\nd\n"
    assert list(shared.iterdir()) == []


def test_a_corrupt_entry_is_ignored(tmp_path: Path) -> None:
    cache, _ = make(tmp_path / "c")
    render_jinja(TEXT, "t.j2", FileVariables({"PORT": "3"}), None, cache)
    for entry in (tmp_path / "c").iterdir():
        entry.write_bytes(b"not marshal data")
    assert render_jinja(TEXT, "t.j2", FileVariables({"PORT": "3"}), None, cache) == "port=3\nd\n"


def test_an_uncreatable_directory_costs_only_the_cache(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    cache, warnings = make(blocker / "sub")
    assert not cache.usable and warnings
    assert render_jinja(TEXT, "t.j2", FileVariables({"PORT": "4"}), None, cache) == "port=4\nd\n"


def test_render_cache_dir_from_the_command_line_and_environment(tmp_path: Path) -> None:
    (tmp_path / "a.conf.j2").write_text(TEXT)
    env = {"PATH": os.environ.get("PATH", ""), "PORT": "5", "ENVCONF_CACHE_DIR": "cache"}
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-m", "envconf", "render", "-t", "a.conf.j2:a.conf"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert (tmp_path / "a.conf").read_text() == "port=5\nd\n"
    assert len(list((tmp_path / "cache").iterdir())) == 1
