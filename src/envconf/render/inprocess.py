"""``render --in-process``: start a Python app in this interpreter instead of exec'ing one.

With ``--settings`` and Jinja templates, ``envconf render`` has imported pydantic, jinja2
and the app's settings module before the app starts; exec'ing ``python -m app`` then
pays for all of it again in a second interpreter (0.2 CPU-seconds per container start
measured, the render alone). When the command is *this* interpreter running a module,
a script or a console script of this environment, the app is run here instead, with
what a fresh ``python`` would give it: the same PID (PID 1 stays PID 1), ``sys.argv``,
``sys.path[0]``, the environment the exec would have passed, Python's default signal
dispositions (SIGINT raises KeyboardInterrupt, SIGPIPE and SIGXFSZ ignored, nothing
blocked) and ``__main__``. Any other command (other interpreter options such as ``-u``,
another program) is exec'd as usual, with a warning saying why.
"""

from __future__ import annotations

import os
import sys

from envconf.records import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import NamedTuple, NoReturn
else:
    from envconf.records import NamedTuple

__all__ = ["PythonApp", "RunInProcess", "python_app"]


class PythonApp(NamedTuple):
    """A Python app to run in this interpreter: ``kind`` is ``module`` or ``path``."""

    kind: str
    target: str
    args: tuple[str, ...]
    env: dict[str, str]

    def run(self) -> NoReturn:
        """Become the app: set up what a fresh interpreter has, run it, exit with it."""
        import runpy

        from envconf.render.process import python_signal_defaults

        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass
        os.environ.clear()
        os.environ.update(self.env)
        python_signal_defaults()
        freeze_render_objects()
        if self.kind == "module":
            sys.argv = [self.target, *self.args]  # runpy puts the module's file first
            sys.path[0] = os.getcwd()
            runpy.run_module(self.target, run_name="__main__", alter_sys=True)
        else:
            sys.argv = [self.target, *self.args]
            sys.path[0] = os.path.dirname(os.path.realpath(self.target))
            runpy.run_path(self.target, run_name="__main__")
        sys.exit(0)


def freeze_render_objects() -> None:
    """Move what the render left alive to the permanent generation, as the app starts.

    pydantic, jinja2, envconf and the app's settings class, imported by the render, live
    as long as the app. ``import envconf.settings`` freezes such start-up objects (see
    ``envconf.settings._freeze_start_up``), but the render ran with the collector paused,
    so nothing was frozen then: without this, the app's first collections and its exit
    would examine ~40k objects that a fresh interpreter would not even have (~10 ms of a
    replica's start, measured). Skipped when the collector is disabled.
    """
    import gc

    if gc.isenabled():
        gc.freeze()


class RunInProcess(BaseException):
    """Raised by the render once everything is written: ``envconf.cli.main`` runs the app.

    A BaseException so that no handler on the way catches it, and it is run outside every
    handler so that the app's own errors carry no envconf context in their tracebacks.
    """

    def __init__(self, app: PythonApp) -> None:
        super().__init__(app.target)
        self.app = app


def python_app(command: Sequence[str], path: str, env: Mapping[str, str]) -> PythonApp | str:
    """The app ``command`` (resolved to ``path``) would run, or why it cannot run here.

    ``python -m MODULE ARGS...`` and ``python SCRIPT ARGS...`` with this interpreter, or a
    script whose ``#!`` line names this interpreter (a console script of this venv).
    """
    if _same_file(path, sys.executable):
        args = list(command[1:])
        if len(args) >= 2 and args[0] == "-m" and not args[1].startswith("-"):
            return PythonApp("module", args[1], tuple(args[2:]), dict(env))
        if args and not args[0].startswith("-"):
            return PythonApp("path", args[0], tuple(args[1:]), dict(env))
        return f"{command[0]} is run with interpreter options ({' '.join(args[:2])})"
    from envconf.render.process import shebang

    words = shebang(path)
    if len(words) == 1 and _same_file(words[0], sys.executable):
        return PythonApp("path", path, tuple(command[1:]), dict(env))
    return f"{command[0]} is not this Python ({sys.executable}) or one of its scripts"


def _same_file(one: str, other: str) -> bool:
    try:
        return os.path.samefile(one, other)
    except OSError:
        return False
