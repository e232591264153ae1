"""envconf.render.command: the cycle collector is paused for a one-shot render only."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from envconf.errors import RenderError
from envconf.render import command
from envconf.render.options import parse_options


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Whether the collector was running each time the templates were rendered."""
    states: list[bool] = []
    real = command.render_all  # type: ignore[attr-defined]

    def render_all(*args: object, **kwargs: object) -> object:
        states.append(gc.isenabled())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(command, "render_all", render_all)
    yield states
    gc.enable()


def test_the_collector_is_paused_while_rendering_and_running_after(
    tmp_path: Path, seen: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.tmpl").write_text("port ${PORT}\n")
    env = {"PORT": "80"}
    assert command.run(parse_options(["-t", "a.tmpl:a"], env), env) == 0
    assert seen == [False]
    assert gc.isenabled()
    assert (tmp_path / "a").read_text() == "port 80\n"


def test_the_collector_runs_again_after_a_failed_render(
    tmp_path: Path, seen: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.tmpl").write_text("port ${PORT:?is required}\n")
    with pytest.raises(RenderError):
        command.run(parse_options(["-t", "a.tmpl:a"], {}), {})
    assert seen == [False]
    assert gc.isenabled()


def test_a_collector_the_caller_disabled_stays_disabled(
    tmp_path: Path, seen: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.tmpl").write_text("x\n")
    gc.disable()
    command.run(parse_options(["-t", "a.tmpl:a"], {}), {})
    assert not gc.isenabled()
