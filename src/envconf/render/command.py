"""``envconf render``: wait, render every template in memory, write atomically, exec.

Pipeline: options (flags over ``ENVCONF_*``) -> ``--wait`` -> plan -> optional typed
settings -> render all templates (collect every problem) -> atomic writes -> ``--user``
-> exec. Nothing here imports pydantic unless ``--settings`` is given, nor jinja2
unless a Jinja template is rendered.
"""

from __future__ import annotations

import gc
import os
import sys

from envconf.errors import EnvconfError, Problem, RenderError
from envconf.records import TYPE_CHECKING
from envconf.render.options import RenderOptions, parse_options
from envconf.render.pipeline import load_template_settings, log, log_warning, render_all

if TYPE_CHECKING:
    import signal
    from collections.abc import Sequence
    from types import FrameType

    from envconf.render.writer import Output
else:  # signal.py's functions without its enum wrappers (see envconf.render.process)
    import _signal as signal

_NAMES = {
    int(signal.SIGTERM): "SIGTERM",
    int(signal.SIGINT): "SIGINT",
    int(signal.SIGHUP): "SIGHUP",
}

__all__ = ["Terminated", "main", "print_check_json", "run"]


class Terminated(EnvconfError):
    """SIGTERM/SIGINT arrived before exec: stop with nothing changed."""

    def __init__(self, signum: int) -> None:
        self.exit_code = 128 + signum
        name = _NAMES.get(signum, f"signal {signum}")
        super().__init__(f"stopped by {name} before the app started")


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise Terminated(signum)


def run(options: RenderOptions, env: dict[str, str]) -> int:
    """Do the render; exec the command (never returns then) or return an exit status."""
    if options.init or options.watch:
        from envconf.watch.render import run_supervised

        return run_supervised(options, env, log)
    # A one-shot render allocates many objects (a Jinja compile, a settings load) and
    # frees them all by reference counting, or at exec: the cycle collector would only
    # walk them again and again (~5 ms of a Jinja render). It is paused until exec, or
    # until this returns (an --in-process app starts with it running).
    paused = gc.isenabled()
    gc.disable()
    try:
        return _render_once(options, env)
    finally:
        if paused:
            gc.enable()


def _render_once(options: RenderOptions, env: dict[str, str]) -> int:
    """:func:`run` without ``--init``/``--watch``."""
    from envconf.render.writer import check_destinations, write_outputs

    if options.user:
        # Resolve (and import) everything needed after the privilege drop now: the
        # unprivileged user may not be able to read the interpreter's library dir.
        from envconf.render.privileges import drop_privileges, resolve_user

        resolve_user(options.user)
    from envconf.render.process import exec_command

    if options.wait:
        from envconf.render.wait import wait_for

        wait_for(options.wait, options.timeout, log)
    settings = load_template_settings(options.settings, env) if options.settings else None
    outputs = render_all(options, env, settings)
    output_dir = options.output_dir or None
    problems = check_destinations(outputs, output_dir)
    if problems:
        raise RenderError(problems)
    if options.check:
        if options.format == "json":
            print_check_json(outputs, [])
            return 0
        for out in outputs:
            log(f"check: would write {out.dest} ({len(out.content)} bytes, mode {out.mode:04o})")
        log(f"check: {len(outputs)} template(s) rendered, nothing written")
        return 0
    written = write_outputs(outputs, output_dir, log_warning, sync=options.fsync, checked=True)
    if outputs:
        kept = len(outputs) - len(written)
        log(f"rendered {len(outputs)} file(s)" + (f", {kept} unchanged" if kept else ""))
    if options.user:
        drop_privileges(options.user, env)
    if not options.command:
        return 0
    if options.in_process:
        from envconf.render.inprocess import RunInProcess, python_app
        from envconf.render.process import prepare_command

        app = python_app(options.command, prepare_command(options.command, env), env)
        if not isinstance(app, str):
            raise RunInProcess(app)
        log_warning(f"--in-process: {app}; exec'ing it instead")
    exec_command(options.command, env)


def print_check_json(outputs: Sequence[Output], problems: Sequence[Problem]) -> None:
    """``render --check --format json``: what would be written, or every problem."""
    import json

    doc = {
        "ok": not problems,
        "outputs": [
            {"dest": str(o.dest), "bytes": len(o.content), "mode": f"{o.mode:04o}"} for o in outputs
        ],
        "problems": [p.to_dict() for p in problems],
    }
    sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def main(argv: Sequence[str]) -> int:
    """Entry point for ``envconf render``; returns an exit status unless it execs."""
    previous = {
        sig: signal.signal(sig, _on_signal)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    }
    options: RenderOptions | None = None
    try:
        env = dict(os.environ)
        options = parse_options(argv, env)
        return run(options, env)
    except EnvconfError as exc:
        if options is not None and options.check and options.format == "json":
            problems = getattr(exc, "problems", None) or [Problem("", str(exc))]
            print_check_json([], problems)
        else:
            log(exc.format().removeprefix("envconf: ").rstrip("\n"))
        return exc.exit_code
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
