"""Is a path on a mounted volume? Data written anywhere else dies with the container."""

from __future__ import annotations

import os
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from envconf.datadir import DATA_DIR_MARKER

MOUNTINFO = "/proc/self/mountinfo"


def _unescape(field: str) -> str:
    """Decode mountinfo's octal escapes (``\\040`` is a space)."""
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) + 0 and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


#: File systems that live in memory: a mount of one is not persistent storage.
MEMORY_FS = frozenset({"tmpfs", "ramfs"})


def mounts(mountinfo: str = MOUNTINFO) -> list[tuple[str, str]]:
    """Every (mount point, file system type) in ``/proc/self/mountinfo`` (empty if unreadable)."""
    found: list[tuple[str, str]] = []
    try:
        with open(mountinfo, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                fields = line.split()
                if len(fields) < 5:
                    continue
                tail = fields[fields.index("-") + 1 :] if "-" in fields else []
                found.append((_unescape(fields[4]), tail[0] if tail else ""))
    except OSError:
        return []
    return found


def mount_points(mountinfo: str = MOUNTINFO) -> list[str]:
    """Every mount point listed in ``/proc/self/mountinfo`` (empty when unreadable)."""
    return [point for point, _ in mounts(mountinfo)]


def _covering_mount(real: str, table: list[tuple[str, str]]) -> tuple[str, str] | None:
    """The deepest mount at or above ``real``, other than ``/``."""
    best: tuple[str, str] | None = None
    for point, fstype in table:
        inside = real == point or real.startswith(point.rstrip("/") + "/")
        if point != "/" and inside and (best is None or len(point) >= len(best[0])):
            best = (point, fstype)
    return best


def on_volume(path: str | os.PathLike[str], mountinfo: str = MOUNTINFO) -> bool:
    """Whether ``path`` lives on persistent storage other than the root filesystem.

    True when a mount point other than ``/`` lies at or above it (bind mounts, which is
    what Docker volumes are, share the device of their source), or its device differs
    from ``/``'s, unless that mount is an in-memory file system (tmpfs), which is lost
    with the container just like the root's writable layer.
    """
    real = os.path.realpath(path)
    try:
        different_device = os.stat(real).st_dev != os.stat("/").st_dev
    except OSError:
        return False
    covering = _covering_mount(real, mounts(mountinfo))
    if covering is not None:
        return covering[1] not in MEMORY_FS
    return different_device


def _marked(annotation: Any) -> bool:
    """Whether ``DataDir`` appears in an annotation (also inside ``DataDir | None``)."""
    if DATA_DIR_MARKER in getattr(annotation, "__metadata__", ()):
        return True
    return any(_marked(arg) for arg in typing.get_args(annotation))


def _data_dirs(model: BaseModel, prefix: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name, None)
        key = f"{prefix}{name}"
        marked = DATA_DIR_MARKER in info.metadata or _marked(info.annotation)
        if marked:
            items = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
            found.extend((key, item) for item in items if isinstance(item, (str, os.PathLike)))
        elif isinstance(value, BaseModel):
            found.extend(_data_dirs(value, key + "."))
    return found


def data_dir_findings(settings: BaseModel, mountinfo: str = MOUNTINFO) -> list[str]:
    """A message for every ``DataDir`` field whose directory is not on a mounted volume."""
    return [
        f"{key}: data directory {Path(value)} is not on a mounted volume; "
        "what the app writes there is lost when the container is removed"
        for key, value in _data_dirs(settings)
        if not on_volume(value, mountinfo)
    ]
