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


def mount_points(mountinfo: str = MOUNTINFO) -> list[str]:
    """Every mount point listed in ``/proc/self/mountinfo`` (empty when unreadable)."""
    try:
        with open(mountinfo, encoding="utf-8", errors="replace") as handle:
            return [_unescape(line.split()[4]) for line in handle if len(line.split()) > 4]
    except OSError:
        return []


def on_volume(path: str | os.PathLike[str], mountinfo: str = MOUNTINFO) -> bool:
    """Whether ``path`` lives on a mount other than the root filesystem.

    True when its device differs from ``/``'s, or a mount point other than ``/`` lies
    at or above it (bind mounts share the device of their source).
    """
    real = os.path.realpath(path)
    try:
        if os.stat(real).st_dev != os.stat("/").st_dev:
            return True
    except OSError:
        return False
    for point in mount_points(mountinfo):
        if point != "/" and (real == point or real.startswith(point.rstrip("/") + "/")):
            return True
    return False


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
