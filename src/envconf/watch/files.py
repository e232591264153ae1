"""Notice when input files change: a debouncing watcher over snapshots.

:class:`FileWatcher` calls back once per *settled* burst of changes to a set of
:class:`~envconf.watch.snapshot.WatchTarget` paths. Whether something changed is always
decided by comparing fingerprints (:mod:`envconf.watch.snapshot`). ``watchfiles``
(the ``envconf[watch]`` extra), when importable, only *wakes* the watcher early; without
it the watcher polls.

Only the standard library is imported at module level, and little of it (hashlib,
traceback and watchfiles only when used): ``envconf render --watch`` uses this module
without importing pydantic. Reloading settings is :mod:`envconf.watch.settings`'s job.
"""

from __future__ import annotations

import os
import signal
import stat
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

from envconf.text import log
from envconf.watch.snapshot import FileState, Snapshot, WatchTarget, changed_paths, snapshot

__all__ = [
    "FileWatcher",
    "Log",
    "block_async_signals",
    "default_debounce",
    "stderr_log",
    "watch_dirs",
    "watchfiles_available",
]

#: A burst that never settles is reported after this many seconds anyway.
MAX_SETTLE = 10.0
#: With watchfiles, a full check also runs every this many poll intervals, in case the
#: file system sends no events (network and some container file systems).
SAFETY_CHECK_FACTOR = 10

# Faults are delivered to the thread that caused them; every other signal is for the
# main thread (where Python runs handlers) and is blocked in the watcher's threads.
_SYNCHRONOUS = frozenset(
    {signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL, signal.SIGABRT}
    | {signal.SIGTRAP, signal.SIGSYS, signal.SIGKILL, signal.SIGSTOP}
)

#: Where a watcher reports what it cannot raise (a failed callback, a dead backend).
Log = Callable[[str], None]


def stderr_log(message: str) -> None:
    """The default log of a watcher: one ``envconf:`` line on stderr, never raising."""
    log(message)


def watch_dirs(targets: Iterable[WatchTarget], current: Mapping[str, FileState | None]) -> set[str]:
    """Return the existing directories whose events matter for ``targets``.

    A file's parent is watched, not the file: Kubernetes swaps ``..data`` there, and
    editors replace files by renaming into it. A missing path is covered by its nearest
    existing ancestor, so its creation is seen.
    """
    dirs: set[str] = set()
    for target in targets:
        path = os.path.abspath(target.path)
        if target.tree:
            dirs.add(_nearest_existing_dir(path))
            if os.path.islink(path):  # repointing the link happens in its parent
                dirs.add(_nearest_existing_dir(os.path.dirname(path)))
            if target.recursive:
                prefix = path.rstrip(os.sep) + os.sep
                for entry, state in current.items():
                    entry_abs = os.path.abspath(entry)
                    is_dir = state is not None and state.kind == stat.S_IFDIR
                    if is_dir and entry_abs.startswith(prefix):
                        dirs.add(entry_abs)
            continue
        dirs.add(_nearest_existing_dir(os.path.dirname(path)))
        real = os.path.realpath(path)
        if real != path:
            dirs.add(_nearest_existing_dir(os.path.dirname(real)))
    return dirs


def _nearest_existing_dir(path: str) -> str:
    while not os.path.isdir(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def watchfiles_available() -> bool:
    """Tell whether the optional ``watchfiles`` package can be imported."""
    import importlib.util

    return importlib.util.find_spec("watchfiles") is not None


def default_debounce(poll_interval: float) -> float:
    """Seconds without a change before a burst counts as one: 0.4, or 2 poll intervals if less.

    0.4 s covers a Kubernetes ``..data`` swap (a few milliseconds) and an editor's save
    with room to spare, and a short poll interval keeps tests fast.
    """
    return min(0.4, 2 * poll_interval)


def block_async_signals() -> None:
    """Block every asynchronous signal in the calling thread (and threads it starts)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, set(signal.valid_signals()) - _SYNCHRONOUS)


class _Either:
    """An ``is_set()`` that is true when either event is (watchfiles' ``stop_event``)."""

    def __init__(self, first: threading.Event, second: threading.Event) -> None:
        self._first = first
        self._second = second

    def is_set(self) -> bool:
        return self._first.is_set() or self._second.is_set()


class Running:
    """``with watcher:`` starts it and stops it on the way out (start/stop by subclasses)."""

    def start(self) -> Any:
        raise NotImplementedError  # pragma: no cover

    def stop(self, timeout: float | None = 5.0) -> None:
        raise NotImplementedError  # pragma: no cover

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class FileWatcher(Running):
    """Call ``on_change(paths)`` once per settled burst of changes to the watched targets.

    The watcher runs in one daemon thread with every asynchronous signal blocked. It wakes
    on ``watchfiles`` events when that package is installed (plus a full check every
    ``SAFETY_CHECK_FACTOR`` poll intervals), else every ``poll_interval`` seconds. A change
    is reported once nothing changed for ``debounce`` seconds, so one Kubernetes swap or one
    editor save is one call. ``on_change`` runs in the watcher's thread; an exception from it
    is printed and the watcher goes on.

    Call :meth:`reset` with the targets and the snapshot taken *before* the program read
    them (so that nothing changed in between goes unseen), then :meth:`start`.
    """

    def __init__(
        self,
        on_change: Callable[[list[str]], None],
        *,
        poll_interval: float = 1.0,
        debounce: float | None = None,
        backend: str = "auto",
        log: Log | None = None,
        name: str = "envconf-watch",
    ) -> None:
        if poll_interval <= 0:
            raise ValueError("poll_interval must be positive")
        if backend not in ("auto", "watchfiles", "polling"):
            raise ValueError(f"backend must be auto, watchfiles or polling, not {backend!r}")
        if backend == "auto":
            backend = "watchfiles" if watchfiles_available() else "polling"
        self.backend = backend
        self.poll_interval = poll_interval
        self.debounce = default_debounce(poll_interval) if debounce is None else debounce
        self._step = min(max(self.debounce / 4, 0.01), 0.1)
        self._on_change = on_change
        self._log = log or stderr_log
        self._lock = threading.Lock()
        self._checking = threading.Lock()  # one check at a time: a change is reported once
        self._targets: tuple[WatchTarget, ...] = ()
        self._baseline: Snapshot = {}
        self._generation = 0
        self._stop = threading.Event()
        self._restart = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def describe(self) -> str:
        """Say how changes are detected, for the start-up log line."""
        if self.backend == "watchfiles":
            return (
                f"watchfiles (file system events; a full check every "
                f"{self.poll_interval * SAFETY_CHECK_FACTOR:g} s too)"
            )
        return f"polling every {self.poll_interval:g} s (install envconf[watch] for events)"

    @property
    def targets(self) -> tuple[WatchTarget, ...]:
        """The targets being watched."""
        with self._lock:
            return self._targets

    def reset(self, targets: Sequence[WatchTarget], baseline: Snapshot | None = None) -> None:
        """Watch ``targets``, comparing against ``baseline`` (default: a snapshot now)."""
        targets = tuple(dict.fromkeys(targets))
        if baseline is None:
            baseline = snapshot(targets)
        with self._lock:
            old_dirs = watch_dirs(self._targets, self._baseline)
            self._targets = targets
            self._baseline = dict(baseline)
            self._generation += 1
            if watch_dirs(targets, baseline) != old_dirs:
                self._restart.set()

    def start(self) -> FileWatcher:
        """Start the watcher thread (once; later calls do nothing); returns self."""
        with self._lock:
            if self._thread.ident is None:
                self._thread.start()
        return self

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop the watcher thread and wait up to ``timeout`` seconds for it."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _run(self) -> None:
        block_async_signals()
        try:
            if self.backend == "watchfiles":
                self._run_watchfiles()
            self._run_polling()
        except Exception:  # a watcher must report, never die silently
            self._log("the file watcher failed; changes are no longer seen:")
            _print_exc()

    def _run_polling(self) -> None:
        while not self._stop.wait(self.poll_interval):
            self.check()

    def _run_watchfiles(self) -> None:
        """Check on every batch of events; returns only to fall back to polling."""
        import importlib

        watchfiles: Any = importlib.import_module("watchfiles")
        either = _Either(self._stop, self._restart)
        safety_ms = int(self.poll_interval * SAFETY_CHECK_FACTOR * 1000)
        while not self._stop.is_set():
            with self._lock:
                dirs = sorted(watch_dirs(self._targets, self._baseline))
                self._restart.clear()
            if not dirs:
                if self._stop.wait(self.poll_interval):
                    return
                continue
            try:
                for _changes in watchfiles.watch(
                    *dirs,
                    watch_filter=None,
                    step=50,
                    stop_event=either,
                    rust_timeout=safety_ms,
                    yield_on_timeout=True,
                    raise_interrupt=False,
                    recursive=False,
                    ignore_permission_denied=True,
                ):
                    self.check()
                    if self._stop.is_set() or self._restart.is_set():
                        break
            except (OSError, RuntimeError) as exc:
                # A directory vanished between listing and watching, or the system's
                # watch limit is reached: check now, retry later.
                self._log(f"watchfiles: {exc}; checking by polling meanwhile")
                if self._stop.wait(self.poll_interval):
                    return
                self.check()

    def check(self) -> None:
        """Compare the targets with the baseline now; on a change, settle and report it.

        The watcher's thread calls this; a program may too (checks never overlap).
        """
        with self._checking:
            self._check()

    def _check(self) -> None:
        with self._lock:
            targets, baseline, generation = self._targets, self._baseline, self._generation
        last = snapshot(targets)
        if last == baseline:
            return
        started = quiet_since = time.monotonic()
        while True:
            if self._stop.wait(self._step):
                return
            again = snapshot(targets)
            now = time.monotonic()
            if again != last:
                last, quiet_since = again, now
            elif now - quiet_since >= self.debounce:
                break
            if now - started >= MAX_SETTLE:
                break
        with self._lock:
            if self._generation != generation:
                return  # reset() meanwhile, with a snapshot taken after this change began
            self._baseline = last
            if watch_dirs(targets, last) != watch_dirs(targets, baseline):
                self._restart.set()
        paths = changed_paths(baseline, last)
        if not paths:
            return
        try:
            self._on_change(paths)
        except Exception:
            self._log("error in a change callback:")
            _print_exc()


def _print_exc() -> None:
    import traceback

    traceback.print_exc()
