"""Reload settings live when the files they come from change.

:class:`SettingsWatcher` (what ``Settings.watch`` returns) loads a settings class, watches
every file a load reads (:func:`settings_targets`) with a
:class:`~envconf.watch.files.FileWatcher`, reloads on a change, and reports which keys
changed and from where (:class:`SettingsChange`, :class:`KeyChange`).

Noticing changes is :mod:`envconf.watch.files`'s job; its names are re-exported here for
code that imports them from this module. pydantic is imported only when a settings class
is loaded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from envconf.errors import ConfigError
from envconf.watch.files import FileWatcher, Running, stderr_log
from envconf.watch.snapshot import Snapshot, WatchTarget, most_specific, snapshot

if TYPE_CHECKING:
    from envconf.load.source import Input
    from envconf.origin import Origin
    from envconf.settings import Settings

__all__ = ["KeyChange", "SettingsChange", "SettingsWatcher", "settings_targets", "targets_of"]

S = TypeVar("S", bound="Settings")


@dataclass(frozen=True)
class KeyChange:
    """One key whose value or origin changed.

    ``old_value`` and ``new_value`` are shown the way ``envconf explain`` shows them:
    secrets are masked (``value_changed`` still tells whether a secret changed).
    """

    key: str
    old_value: Any
    new_value: Any
    old_origin: Origin
    new_origin: Origin
    value_changed: bool
    secret: bool = False

    def __str__(self) -> str:
        where, now = _where(self.old_origin), _where(self.new_origin)
        origin = f"from {now}" if where == now else f"from {where}, now from {now}"
        if not self.value_changed:
            return f"{self.key}: unchanged value, {origin}"
        if self.secret:
            return f"{self.key}: secret value changed, {origin}"
        return f"{self.key}: {self.old_value!r} -> {self.new_value!r}, {origin}"


def _where(origin: Origin) -> str:
    if origin.location == origin.source:
        return origin.source
    return f"{origin.location} ({origin.source})"


@dataclass(frozen=True)
class SettingsChange(Generic[S]):
    """What a reload changed: the keys (by dotted name), the previous object, the files."""

    previous: S
    keys: dict[str, KeyChange] = field(default_factory=dict)
    files: tuple[str, ...] = ()

    def __str__(self) -> str:
        head = f"{len(self.keys)} key{'s' if len(self.keys) != 1 else ''} changed"
        if self.files:
            head += f" after a change to {', '.join(self.files)}"
        return "\n".join([head + ":", *(f"  {change}" for change in self.keys.values())])


def _file_part(origin: Origin) -> tuple[str, str]:
    """The source and location without a line number: moving a key within a file is no change."""
    location = origin.location
    if origin.source in ("file", "dotenv"):
        head, colon, line = location.rpartition(":")
        if colon and line.isdigit():
            location = head
    return origin.source, location


def diff_settings(old: Settings, new: Settings, files: Sequence[str] = ()) -> SettingsChange[Any]:
    """Compare two loads of one settings class: every key whose value or origin changed."""
    from envconf.load.classinfo import class_info
    from envconf.load.report import display_value, explain

    old_origins, new_origins = explain(old), explain(new)
    changes: dict[str, KeyChange] = {}
    for leaf in class_info(type(new)).spec.leaves():
        before, after = _leaf(old, leaf.path), _leaf(new, leaf.path)
        was, now = old_origins[leaf.key], new_origins[leaf.key]
        if before == after and _file_part(was) == _file_part(now):
            continue
        report = new._envconf_report
        from_file = report is not None and leaf.path in report.secret_paths
        secret = leaf.secret or from_file or type(after).__name__ in ("SecretStr", "SecretBytes")
        changes[leaf.key] = KeyChange(
            leaf.key,
            display_value(before, secret),
            display_value(after, secret),
            was,
            now,
            value_changed=before != after,
            secret=secret,
        )
    return SettingsChange(old, changes, tuple(files))


def _leaf(settings: Any, path: tuple[str, ...]) -> Any:
    value = settings
    for part in path:
        value = getattr(value, part, None)
    return value


def _default_on_error(error: ConfigError) -> None:
    stderr_log(f"the new configuration is invalid; keeping the previous settings.\n{error}")


def settings_targets(
    cls: type[Settings],
    *,
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    config_files: Sequence[str] | None = None,
) -> list[WatchTarget]:
    """Return every file a load of ``cls`` reads, or would read once it appears.

    Taken from the load itself (each layer reports its inputs): config files with their
    profile variants, ``env_file`` files, the secrets dir, and ``VAR_FILE`` targets of keys
    (never an unrelated ``LOG_FILE``), each only when its layer is in the precedence. An
    invalid configuration still reports what it read.

    Raises:
        ConfigError: ``argv`` is malformed (as a load would report it).
    """
    try:
        settings = cls.load(argv=argv, env=env, config_files=config_files)
    except ConfigError as exc:
        if not exc.inputs:
            raise  # argv could not be parsed: nothing was read
        return targets_of(exc.inputs)
    report = settings._envconf_report
    return targets_of(report.inputs if report is not None else ())


def targets_of(inputs: Sequence[Input]) -> list[WatchTarget]:
    """Watch targets for the inputs a load reported."""
    return list(dict.fromkeys(WatchTarget(i.path, i.what, tree=i.tree) for i in inputs))


class SettingsWatcher(Running, Generic[S]):
    """Load settings, then reload them whenever the files they come from change.

    On a change, the settings are loaded again with the same ``argv``, ``env`` and
    ``config_files``. When the new configuration is valid and some key's value or origin
    differs, :attr:`current` becomes the new object and ``callback(new, change)`` is called
    (a :class:`SettingsChange` naming each key, old and new value, and old and new origin;
    secrets masked). When it is invalid, the previous object is kept and ``on_error`` gets
    the :class:`~envconf.ConfigError` (default: print it to stderr). Callbacks run in the
    watcher's thread.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`::

        with AppSettings.watch(on_reload) as watcher:
            serve(lambda: watcher.current)

    Raises:
        ConfigError: the *initial* configuration is invalid (from the constructor).
    """

    def __init__(
        self,
        cls: type[S],
        callback: Callable[[S, SettingsChange[S]], None],
        *,
        argv: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        config_files: Sequence[str] | None = None,
        poll_interval: float = 1.0,
        debounce: float | None = None,
        on_error: Callable[[ConfigError], None] | None = None,
        backend: str = "auto",
    ) -> None:
        self._cls = cls
        self._callback = callback
        self._argv = None if argv is None else list(argv)
        self._env = env
        self._config_files = None if config_files is None else list(config_files)
        self._on_error = on_error or _default_on_error
        self._lock = threading.Lock()
        self._watcher = FileWatcher(
            self._files_changed,
            poll_interval=poll_interval,
            debounce=debounce,
            backend=backend,
            name=f"envconf-watch-{cls.__name__}",
        )
        # A first load tells what to watch; the state is taken before the load kept, so no
        # change slips in between reading and watching.
        targets = self._targets()
        before = snapshot(targets)
        self._current: S = self._load()
        self._watcher.reset(self._with(targets, before), before)

    @property
    def current(self) -> S:
        """The latest valid settings."""
        with self._lock:
            return self._current

    @property
    def backend(self) -> str:
        """``"watchfiles"`` or ``"polling"``."""
        return self._watcher.backend

    @property
    def targets(self) -> tuple[WatchTarget, ...]:
        """The files and directories being watched."""
        return self._watcher.targets

    def start(self) -> SettingsWatcher[S]:
        """Start watching; returns self."""
        self._watcher.start()
        return self

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop watching (callbacks already running finish first)."""
        self._watcher.stop(timeout)

    def check(self) -> None:
        """Check for changes now, in the calling thread (the thread also does this)."""
        self._watcher.check()

    def _targets(self) -> list[WatchTarget]:
        return settings_targets(
            self._cls, argv=self._argv, env=self._env, config_files=self._config_files
        )

    def _with(self, targets: list[WatchTarget], before: Snapshot) -> list[WatchTarget]:
        """``targets`` plus inputs the current object read that are not among them yet."""
        report = self._current._envconf_report
        more = [t for t in targets_of(report.inputs if report else ()) if t not in targets]
        if more:
            before.update(snapshot(more))
        return [*targets, *more]

    def _load(self) -> S:
        loaded: S = self._cls.load(argv=self._argv, env=self._env, config_files=self._config_files)
        return loaded

    def _files_changed(self, paths: list[str]) -> None:
        try:
            targets = self._targets()
        except ConfigError:
            targets = list(self._watcher.targets)
        before = snapshot(targets)
        try:
            new = self._load()
        except ConfigError as exc:
            self._watcher.reset(targets, before)
            self._on_error(exc)
            return
        self._watcher.reset(targets, before)
        with self._lock:
            old = self._current
        change: SettingsChange[S] = diff_settings(old, new, most_specific(paths))
        if not change.keys:
            return
        with self._lock:
            self._current = new
        self._callback(new, change)
