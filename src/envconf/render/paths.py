"""Path arithmetic on ``str`` for the render path, spelled as :mod:`pathlib` spells paths.

``envconf render`` runs at every container start; :mod:`pathlib` (with ``fnmatch``,
``re``, ``urllib.parse`` and ``ipaddress`` behind it) costs more start-up than the whole
render of a directory of templates. These few functions are all the planner and the
writer need, with pathlib's results: ``clean("out//a/./b/")`` is ``"out/a/b"``, like
``str(Path(...))``; ``..`` is never collapsed (a symlinked parent makes that wrong).
"""

from __future__ import annotations

import os

__all__ = [
    "clean",
    "is_inside",
    "join",
    "landing_path",
    "name",
    "parent",
    "real_path",
    "relative_to",
    "stem",
    "suffix",
]


def clean(path: str) -> str:
    """``path`` without repeated or trailing ``/`` and without ``.`` parts."""
    parts = [part for part in path.split("/") if part and part != "."]
    text = "/".join(parts)
    if path.startswith("/"):
        return "/" + text
    return text or "."


def parent(path: str) -> str:
    """The directory holding ``path`` (``"."`` for a bare name, ``"/"`` for the root)."""
    path = clean(path)
    head, sep, _ = path.rpartition("/")
    if not sep:
        return "."
    return head or "/"


def name(path: str) -> str:
    """The last part of ``path`` (``""`` for ``/`` and ``.``)."""
    path = clean(path)
    return "" if path in ("/", ".") else path.rpartition("/")[2]


def suffix(path: str) -> str:
    """The file name's last suffix (``.j2`` of ``app.conf.j2``; none for ``.j2`` alone)."""
    base = name(path)
    at = base.rfind(".")
    return base[at:] if 0 < at < len(base) - 1 else ""


def stem(path: str) -> str:
    """The file name without its last suffix."""
    base = name(path)
    end = suffix(base)
    return base[: len(base) - len(end)] if end else base


def join(base: str, *parts: str) -> str:
    """``base / part / ...``: an absolute part starts over, as with pathlib."""
    for part in parts:
        base = part if part.startswith("/") else f"{base}/{part}"
    return clean(base)


def real_path(path: str, known: dict[str, str] | None = None) -> str:
    """``path`` absolute with ``..`` and every existing symlink resolved.

    A symlink loop does not raise: the looping part is left as it is, and using the path
    later fails with ELOOP. ``known`` remembers paths resolved before, for one pass over
    many files in the same directories (21 templates in one folder: one resolution).
    """
    if known is None:
        return os.path.realpath(path)
    found = known.get(path)
    if found is None:
        found = known[path] = os.path.realpath(path)
    return found


def landing_path(dest: str, known: dict[str, str] | None = None) -> str:
    """Where ``dest`` really lands: its parent resolved (``..``, links), its name kept.

    The name itself is not resolved: a destination that is a symlink is refused, not
    followed. ``known`` is as for :func:`real_path`.
    """
    return join(real_path(parent(dest), known), name(dest))


def is_inside(path: str, root: str) -> bool:
    """Tell whether the absolute, resolved ``path`` is ``root`` or below it."""
    return path == root or path.startswith(root.rstrip("/") + "/")


def relative_to(path: str, root: str) -> str:
    """``path`` relative to ``root``, which it must be inside (``.`` for ``root`` itself)."""
    if path == root:
        return "."
    return path[len(root.rstrip("/")) + 1 :]
