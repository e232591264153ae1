"""``envconf render --init`` and ``--watch``: render, then supervise the app as PID 1.

``--init`` renders exactly like the exec path, then starts the app under
:class:`~envconf.render.supervise.Supervisor` instead of exec'ing it. ``--watch`` also
watches every input -- templates (``-t`` files and the ``--template-dir`` tree),
``VAR_FILE`` targets the templates used, the secrets dir, and with ``--settings`` that
class's config files, env files, secrets dir and ``VAR_FILE`` targets -- and on a change
re-renders with the same all-or-nothing rules. When some output's bytes differ, the
changed files are replaced atomically and the app gets the reload signal (default SIGHUP)
or the reload command runs; when nothing differs, nothing is written or sent; when the
render fails, no file changes, the app keeps running and every problem is logged.

The watcher thread only notices changes; rendering, writing and signalling happen in the
supervisor's loop (the main thread), so a reload can never race the reaping of the app.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from envconf.errors import EnvconfError, RenderError
from envconf.fileread import FileVariables
from envconf.render.options import split_command
from envconf.render.plan import ENGINE_SUFFIXES

if TYPE_CHECKING:
    from envconf.render.options import RenderOptions
    from envconf.render.writer import Output
    from envconf.watch.files import FileWatcher
    from envconf.watch.snapshot import FileState, Snapshot, WatchTarget

__all__ = ["DEFAULT_SECRETS_DIR", "RenderSession", "run_supervised"]

Log = Callable[[str], None]

#: Watched for ``envconf render --watch`` without ``--settings`` (with it: the class's).
DEFAULT_SECRETS_DIR = "/run/secrets"


class _RecordingVariables(FileVariables):
    """Variables that fingerprint each ``VAR_FILE`` target just before reading it.

    Fingerprinting before the read means a change made while rendering is seen by the
    next check (at worst one spurious re-render), never missed.
    """

    def __init__(self, env: Mapping[str, str]) -> None:
        super().__init__(env)
        self.files: dict[str, tuple[str, FileState | None]] = {}

    def lookup(self, name: str) -> str | None:
        file_name = self.file_variable(name)
        path = self.env[file_name] if file_name else None
        if file_name and path and path not in self.files:
            from envconf.watch.snapshot import file_state

            self.files[path] = (file_name, file_state(path))
        return super().lookup(name)


class RenderSession:
    """Render passes for one ``envconf render`` invocation, and what they read."""

    def __init__(self, options: RenderOptions, env: Mapping[str, str], log: Log) -> None:
        self.options = options
        self.env = env
        self.log = log
        self.settings_class: Any = None
        if options.settings:
            from envconf.tools.target import import_settings_class

            self.settings_class = import_settings_class(options.settings)
        self.output_dir = options.output_dir or None
        #: ``VAR_FILE`` targets the last pass read: path -> (variable, state before reading).
        self.var_files: dict[str, tuple[str, FileState | None]] = {}

    def static_targets(self) -> list[WatchTarget]:
        """Every input known before rendering (``VAR_FILE`` targets are learnt by rendering)."""
        from envconf.watch.settings import settings_targets
        from envconf.watch.snapshot import WatchTarget

        targets = [
            WatchTarget(spec.partition(":")[0], "template") for spec in self.options.template
        ]
        if self.options.template_dir:
            suffixes = tuple(ENGINE_SUFFIXES)
            targets.append(
                WatchTarget(self.options.template_dir, "template dir", True, True, suffixes)
            )
        if self.settings_class is not None:
            targets.extend(settings_targets(self.settings_class, env=self.env))
        else:
            targets.append(WatchTarget(DEFAULT_SECRETS_DIR, "secrets dir", tree=True))
        return list(dict.fromkeys(targets))

    def var_file_targets(self) -> tuple[list[WatchTarget], Snapshot]:
        """The ``VAR_FILE`` targets of the last pass and their states before it read them."""
        from envconf.watch.snapshot import WatchTarget

        targets = [WatchTarget(path, name) for path, (name, _) in self.var_files.items()]
        return targets, {path: state for path, (_, state) in self.var_files.items()}

    def render(self) -> list[Output]:
        """Load the settings (if any) and render every template in memory, checked.

        Raises:
            EnvconfError: a settings, template or destination problem (all listed).
        """
        from envconf.render.pipeline import load_template_settings, render_all
        from envconf.render.writer import check_destinations

        settings = None
        if self.options.settings:
            settings = load_template_settings(self.options.settings, self.env)
        variables = _RecordingVariables(self.env)
        try:
            outputs = render_all(self.options, self.env, settings, variables=variables)
        finally:
            self.var_files = variables.files
        problems = check_destinations(outputs, self.output_dir)
        if problems:
            raise RenderError(problems)
        return outputs

    def write(self, outputs: list[Output]) -> list[str]:
        """Write ``outputs`` atomically; return the destinations whose bytes changed.

        A file whose bytes, mode and owner already match is left alone by the writer (its
        inode too, so nothing watching it sees a change).
        """
        from envconf.render.writer import write_outputs

        changed = [out.dest for out in outputs if _current(out.dest) != out.content]
        write_outputs(
            outputs, self.output_dir, lambda m: self.log(f"warning: {m}"), sync=self.options.fsync
        )
        return changed


def _current(dest: str) -> bytes | None:
    """The bytes a destination holds now; ``None`` when it cannot be read."""
    try:
        fd = os.open(dest, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        with os.fdopen(os.dup(fd), "rb") as handle:
            return handle.read()
    except OSError:
        return None
    finally:
        os.close(fd)


class _Reloader:
    """Tell the app its config changed: a signal, or one reload command at a time."""

    def __init__(self, supervisor: Any, options: RenderOptions, env: Mapping[str, str], log: Log):
        self.supervisor = supervisor
        self.signum = options.reload_signal or signal.SIGHUP
        self.command = split_command(options.reload_command) if options.reload_command else None
        self.env = env
        self.user = options.user
        self.log = log
        self.running = False
        self.pending = False

    def reload(self) -> str:
        """Reload the app; return what was done, for the log."""
        if self.command is None:
            name = signal.Signals(self.signum).name
            if self.supervisor.signal_app(self.signum):
                return f"sent {name} to the app"
            return f"the app has exited; {name} not sent"
        if self.running:
            self.pending = True
            return "the reload command will run again when the running one finishes"
        return self._start()

    def _start(self) -> str:
        assert self.command is not None
        shown = shlex.join(self.command)
        try:
            self.supervisor.spawn_helper(self.command, self.env, self._done, user=self.user)
        except (OSError, EnvconfError) as exc:
            return f"the reload command {shown!r} could not start: {exc}"
        self.running = True
        return f"started the reload command {shown!r}"

    def _done(self, status: int) -> None:
        self.running = False
        if status != 0:
            self.log(
                f"the reload command {shlex.join(self.command or [])!r} failed: status {status}"
            )
        if self.pending:
            self.pending = False
            self.log(self._start())


class _WatchLoop:
    """Glue between the watcher thread and the supervisor's loop."""

    def __init__(
        self, session: RenderSession, supervisor: Any, reloader: _Reloader, watcher: FileWatcher
    ) -> None:
        self.session = session
        self.supervisor = supervisor
        self.reloader = reloader
        self.watcher = watcher
        import queue

        self.changes: queue.SimpleQueue[list[str]] = queue.SimpleQueue()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)

    def notify(self, paths: list[str]) -> None:
        """From the watcher thread: queue the change and wake the loop."""
        self.changes.put(paths)
        with contextlib.suppress(BlockingIOError):  # already awake with unread bytes
            os.write(self.wake_w, b"!")

    def handle(self) -> None:
        """In the loop: re-render once for every change queued so far."""
        with contextlib.suppress(BlockingIOError):
            while os.read(self.wake_r, 4096):
                pass
        paths: set[str] = set()
        while not self.changes.empty():
            paths.update(self.changes.get_nowait())
        if not paths:
            return
        try:
            self.rerender(sorted(paths))
        except Exception:  # envconf is PID 1: a bug here must not take the app down
            import traceback

            self.session.log("internal error while re-rendering; the app keeps running:")
            traceback.print_exc()

    def rerender(self, paths: list[str]) -> None:
        from envconf.watch.snapshot import most_specific, snapshot

        log = self.session.log
        paths = most_specific(paths)
        shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
        static = self.session.static_targets()
        before = snapshot(static)
        try:
            outputs = self.session.render()
            changed = self.session.write(outputs)
        except EnvconfError as exc:
            log(
                f"change in {shown}: the new configuration was not applied; the previous "
                f"files stay and the app keeps running:\n{_indent(exc)}"
            )
            changed = None
        finally:
            var_targets, var_states = self.session.var_file_targets()
            self.watcher.reset([*static, *var_targets], {**before, **var_states})
        if changed is None:
            return
        if not changed:
            log(f"change in {shown}: every output is unchanged; the app was not told")
            return
        files = ", ".join(map(str, changed))
        log(f"change in {shown}: rewrote {files}; {self.reloader.reload()}")


def _indent(exc: EnvconfError) -> str:
    text = str(exc)
    return "\n".join(f"  {line}" for line in text.splitlines())


def run_supervised(options: RenderOptions, env: dict[str, str], log: Log) -> int:
    """Render, start the app under envconf as init, and with ``--watch`` keep it current.

    Returns the app's exit status (128+N when signal N killed it).

    Raises:
        EnvconfError: the first render failed, or the app could not be started; nothing
            is started then, as for the exec path.
    """
    from envconf.render.supervise import Supervisor

    if options.user:
        from envconf.render.privileges import resolve_user

        resolve_user(options.user)  # an unknown user is an error before anything runs
    if options.wait:
        from envconf.render.wait import wait_for

        wait_for(options.wait, options.timeout, log)
    session = RenderSession(options, env, log)
    static: list[WatchTarget] = []
    before: Snapshot = {}
    if options.watch:
        from envconf.watch.snapshot import snapshot

        static = session.static_targets()
        before = snapshot(static)  # before the render reads anything
    outputs = session.render()
    session.write(outputs)
    if outputs:
        log(f"rendered {len(outputs)} file(s)")
    supervisor = Supervisor(log)
    watcher: FileWatcher | None = None
    try:
        supervisor.start(options.command, env, user=options.user)
        if options.watch:
            watcher = _start_watching(options, env, log, session, supervisor, static, before)
        return supervisor.run()
    finally:
        if watcher is not None:
            watcher.stop(timeout=1.0)
        supervisor.close()


def _start_watching(
    options: RenderOptions,
    env: Mapping[str, str],
    log: Log,
    session: RenderSession,
    supervisor: Any,
    static: list[WatchTarget],
    before: Snapshot,
) -> FileWatcher:
    from envconf.watch.files import FileWatcher

    interval = options.poll_interval if options.poll_interval is not None else 1.0
    reloader = _Reloader(supervisor, options, env, log)
    loop: _WatchLoop | None = None

    def notify(paths: list[str]) -> None:
        assert loop is not None
        loop.notify(paths)

    watcher = FileWatcher(notify, poll_interval=interval, log=log)
    loop = _WatchLoop(session, supervisor, reloader, watcher)
    var_targets, var_states = session.var_file_targets()
    watcher.reset([*static, *var_targets], {**before, **var_states})
    supervisor.add_reader(loop.wake_r, loop.handle)
    watcher.start()
    inputs = len(watcher.targets)
    action = (
        f"run {options.reload_command!r}"
        if options.reload_command
        else f"send {signal.Signals(reloader.signum).name} to the app"
    )
    log(f"watching {inputs} input(s) by {watcher.describe()}; on a change: re-render, {action}")
    return watcher
