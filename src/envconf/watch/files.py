"""Notice when input files change: fingerprints, snapshots, and a debouncing watcher.

:class:`FileWatcher` calls back once per *settled* burst of changes to a set of
:class:`WatchTarget` paths. Whether something changed is always decided by comparing
fingerprints (:func:`snapshot`): ``os.stat`` following links (device, inode, size, mtime,
ctime), the resolved path, and a digest of small files. The resolved path is what shows
Kubernetes' atomic ``..data`` swap, where the visible path never changes; deletions and
editors that replace a file by renaming show as a different state too. ``watchfiles``
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
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

__all__ = [
    "FileState",
    "FileWatcher",
    "Log",
    "Snapshot",
    "WatchTarget",
    "block_async_signals",
    "changed_paths",
    "default_debounce",
    "file_state",
    "most_specific",
    "snapshot",
    "stderr_log",
    "watch_dirs",
    "watchfiles_available",
]

#: the same size within one timestamp tick are still told apart.
MAX_DIGEST_BYTES = 1024 * 1024
#: Entries looked at in one directory tree; a runaway tree must not stall the watcher.
MAX_TREE_ENTRIES = 10_000
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
    """Write ``envconf: message`` to stderr (the default :data:`Log`)."""
    sys.stderr.write(f"envconf: {message}\n")
    sys.stderr.flush()


@dataclass(frozen=True)
class WatchTarget:
    """One input to watch.

    Args:
        path: the path as the program uses it (a visible name, possibly a symlink).
        what: what it is, for messages (``template``, ``config file``, ``DB_PASSWORD_FILE``).
        tree: a directory whose entries are watched (else a single file, which may be
            missing and appear later).
        recursive: with ``tree``, descend into subdirectories (followed when they are links).
        suffixes: with ``tree``, only files with one of these suffixes count (empty: all).
    """

    path: str
    what: str
    tree: bool = False
    recursive: bool = False
    suffixes: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileState:
    """The fingerprint of one path: equal states mean "no change seen"."""

    real: str
    dev: int
    ino: int
    kind: int
    mode: int
    size: int
    mtime_ns: int
    ctime_ns: int
    digest: bytes | None


#: Path -> its state (``None``: missing) for every path the targets cover.
Snapshot = dict[str, FileState | None]


def file_state(path: str) -> FileState | None:
    """Return the fingerprint of ``path`` following links, or None when it is missing.

    A directory's own times and size are left out: they change with every entry added or
    removed (temporary files included), and the entries themselves show what matters.
    """
    try:
        st = os.stat(path)
    except OSError:
        return None
    real = os.path.realpath(path)
    kind = stat.S_IFMT(st.st_mode)
    mode = stat.S_IMODE(st.st_mode)
    if kind == stat.S_IFDIR:
        return FileState(real, st.st_dev, st.st_ino, kind, mode, 0, 0, 0, None)
    digest = _digest(path) if kind == stat.S_IFREG and st.st_size <= MAX_DIGEST_BYTES else None
    return FileState(
        real,
        st.st_dev,
        st.st_ino,
        kind,
        mode,
        st.st_size,
        st.st_mtime_ns,
        st.st_ctime_ns,
        digest,
    )


def _digest(path: str) -> bytes | None:
    """Hash a small regular file; unreadable files are fingerprinted by stat alone."""
    import hashlib

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        hasher = hashlib.blake2b(digest_size=16)
        total = 0
        while chunk := os.read(fd, 65536):
            total += len(chunk)
            if total > MAX_DIGEST_BYTES:
                return None
            hasher.update(chunk)
        return hasher.digest()
    except OSError:
        return None
    finally:
        os.close(fd)


def snapshot(targets: Iterable[WatchTarget]) -> Snapshot:
    """Fingerprint every path the targets cover, now."""
    found: Snapshot = {}
    for target in targets:
        if target.tree:
            _snapshot_tree(target, found)
        else:
            found[target.path] = file_state(target.path)
    return found


def _snapshot_tree(target: WatchTarget, found: Snapshot) -> None:
    """Add a directory and its entries (names starting with ``..`` skipped) to ``found``."""
    root = file_state(target.path)
    found[target.path] = root
    if root is None or root.kind != stat.S_IFDIR:
        return
    visited = {root.real}
    pending = [target.path]
    count = 0
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda entry: entry.name)
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith(".."):
                continue  # Kubernetes' swap entries: ..data, ..2026_11_28_10_00_00.123
            count += 1
            if count > MAX_TREE_ENTRIES:
                return
            try:
                is_dir = entry.is_dir()  # follows links, like the visible names of a mount
            except OSError:
                is_dir = False
            if is_dir:
                if target.recursive:
                    state = file_state(entry.path)
                    if state is not None and state.real not in visited:
                        visited.add(state.real)
                        found[entry.path] = state
                        pending.append(entry.path)
                continue
            if not target.suffixes or entry.name.endswith(target.suffixes):
                found[entry.path] = file_state(entry.path)


def changed_paths(
    old: Mapping[str, FileState | None], new: Mapping[str, FileState | None]
) -> list[str]:
    """Return every path whose state differs between two snapshots, sorted."""
    return sorted(p for p in old.keys() | new.keys() if old.get(p) != new.get(p))


def most_specific(paths: Sequence[str]) -> list[str]:
    """Drop every path that is a directory of another one (``cfg/templates`` when
    ``cfg/templates/app.conf.j2`` changed too): what a person wants to read in a log."""
    return [p for p in paths if not any(q.startswith(p.rstrip(os.sep) + os.sep) for q in paths)]


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


class FileWatcher:
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

    def __enter__(self) -> FileWatcher:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

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
