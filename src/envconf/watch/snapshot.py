"""Fingerprints of watched paths: what changed is decided by comparing snapshots.

A fingerprint is ``os.stat`` following links (device, inode, size, mtime, ctime), the
resolved path, and a digest of small files. The resolved path is what shows Kubernetes'
atomic ``..data`` swap, where the visible path never changes; deletions and editors that
replace a file by renaming show as a different state too. Standard library only.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "FileState",
    "Snapshot",
    "WatchTarget",
    "changed_paths",
    "file_state",
    "most_specific",
    "snapshot",
]

#: Files up to this size are hashed as well as stat'ed, so that two writes of
#: the same size within one timestamp tick are still told apart.
MAX_DIGEST_BYTES = 1024 * 1024
#: Entries looked at in one directory tree; a runaway tree must not stall the watcher.
MAX_TREE_ENTRIES = 10_000


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
