"""Decide which templates are rendered, by which engine, to which destination.

Planning only looks at the file system; it never renders or writes. Every problem found
(missing templates, unknown suffixes, destinations escaping ``--output-dir``, links leaving
``--template-dir``, two templates for one destination) is collected and raised once.

Paths are ``str`` (:mod:`envconf.render.paths`): ``envconf render`` must start fast.
"""

from __future__ import annotations

import os
import stat

from envconf.errors import RenderError
from envconf.records import TYPE_CHECKING
from envconf.render.paths import (
    clean,
    is_inside,
    join,
    landing_path,
    name,
    parent,
    real_path,
    relative_to,
    stem,
    suffix,
)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import NamedTuple
else:
    from envconf.records import NamedTuple

ENGINE_SUFFIXES: dict[str, str] = {
    ".j2": "jinja",
    ".jinja": "jinja",
    ".jinja2": "jinja",
    ".template": "envsubst",
    ".tmpl": "envsubst",
}
ENGINES = frozenset(ENGINE_SUFFIXES.values())


class TemplateJob(NamedTuple):
    """One template to render and the file it becomes.

    ``source`` is the template path as given on the command line or as found under the
    template dir (a visible name, possibly a symlink); ``mode`` is the exact permission
    bits for ``dest``: ``--mode`` if given, else the template's own without set-id bits,
    following links).
    """

    source: str
    dest: str
    engine: str
    mode: int


def template_suffix(path: str) -> str | None:
    """Return the known template suffix of ``path`` (``.j2``, ``.tmpl``, ...), or None."""
    found = suffix(path)
    return found if found in ENGINE_SUFFIXES else None


def plan_jobs(
    templates: Sequence[str],
    template_dir: str | None,
    output_dir: str | None,
    engine: str | None = None,
    mode: int | None = None,
) -> list[TemplateJob]:
    """Return the render jobs for ``-t`` entries and a ``--template-dir`` tree.

    Args:
        templates: ``SRC[:DEST]`` strings. They are split on the *first* ``:``, so a
            template path cannot contain a colon (a destination can). DEST defaults to SRC
            minus its template suffix; with ``output_dir``, a relative DEST is relative to
            it and a missing DEST is SRC's file name, suffix removed, inside it.
        template_dir: render every file with a template suffix under this directory,
            recursively and in sorted order, to the same relative path under
            ``output_dir`` (required with it). Entries whose name starts with ``..``
            (Kubernetes' ``..data`` swap directories) are skipped; the visible names of a
            ConfigMap mount, symlinks into ``..data``, are followed.
        output_dir: an existing directory every destination must stay inside, after
            resolving ``..`` and symlinked parent directories.
        engine: ``"jinja"`` or ``"envsubst"``, overriding the choice by suffix. A known
            suffix is still removed from the destination name.
        mode: permission bits for every output; default: each template's own.

    Returns:
        The jobs: ``-t`` entries first, in the order given, then the tree's, sorted.

    Raises:
        RenderError: listing every problem found, each naming the template.
    """
    problems: list[str] = []
    jobs: list[TemplateJob] = []

    if engine is not None and engine not in ENGINES:
        problems.append(f"unknown engine {engine!r}: use one of {', '.join(sorted(ENGINES))}")
        engine = None
    if mode is not None and not 0 <= mode <= 0o7777:
        problems.append(f"mode {mode:#o} is out of range (0 to 7777 octal)")
        mode = None
    elif mode is not None and mode & SET_ID_BITS:
        problems.append(
            f"mode {mode:04o} sets set-user-ID or set-group-ID bits; envconf never writes those"
        )
        mode = None

    out_root: str | None = None
    if output_dir is not None:
        out_root = real_path(output_dir)
        if not os.path.isdir(out_root):
            problems.append(f"output dir {output_dir}: not an existing directory")
            out_root = None
    out = clean(output_dir) if output_dir is not None and out_root is not None else None

    for spec in templates:
        job = _plan_single(spec, out, out_root, engine, mode, problems)
        if job is not None:
            jobs.append(job)

    if template_dir is not None:
        if output_dir is None:
            problems.append(f"template dir {template_dir}: --output-dir is required with it")
        elif out is not None and out_root is not None:
            jobs.extend(_plan_tree(clean(template_dir), out, out_root, engine, mode, problems))

    problems.extend(_duplicate_destinations(jobs))
    if problems:
        raise RenderError(problems)
    return jobs


def _plan_single(
    spec: str,
    out: str | None,
    out_root: str | None,
    engine: str | None,
    mode: int | None,
    problems: list[str],
) -> TemplateJob | None:
    """Plan one ``SRC[:DEST]`` entry, appending to ``problems`` instead of raising."""
    src_text, colon, dest_text = spec.partition(":")
    if not src_text:
        problems.append(f"template {spec!r}: empty template path")
        return None
    if colon and not dest_text:
        problems.append(f"template {src_text}: empty destination after ':'")
        return None
    source = clean(src_text)
    before = len(problems)
    src_stat = _stat_template(source, problems)
    chosen = _choose_engine(source, engine, problems)

    dest: str | None = None
    if dest_text:
        dest = clean(dest_text)
        if out is not None:
            dest = join(out, dest)
    elif chosen is not None:  # an unknown suffix without --engine is reported already
        base = _strip_suffix(source, problems)
        if base is not None:
            dest = join(out if out is not None else parent(source), base)

    if dest is not None:
        dest = _place(source, dest, out, out_root, problems)
        if src_stat is not None and _same_file(source, dest):
            problems.append(f"template {source}: destination {dest} is the template itself")
    if len(problems) > before or dest is None or chosen is None or src_stat is None:
        return None
    return TemplateJob(source, dest, chosen, _mode(src_stat, mode))


def _plan_tree(
    root: str,
    out: str,
    out_root: str,
    engine: str | None,
    mode: int | None,
    problems: list[str],
) -> list[TemplateJob]:
    """Plan every template under ``root``, appending to ``problems`` instead of raising."""
    tree_root = real_path(root)
    if not os.path.isdir(tree_root):
        problems.append(f"template dir {root}: not an existing directory")
        return []

    jobs: list[TemplateJob] = []
    known: dict[str, str] = {}
    for source, rel in _walk(root, tree_root, problems):
        chosen = engine or ENGINE_SUFFIXES[suffix(source)]
        dest = join(out, parent(rel), stem(rel))
        before = len(problems)
        dest = _place(source, dest, out, out_root, problems, known)
        try:
            src_stat = os.stat(source)
        except OSError as exc:
            problems.append(f"template {source}: {exc.strerror or exc}")
            continue
        if len(problems) == before:
            jobs.append(TemplateJob(source, dest, chosen, _mode(src_stat, mode)))
    return jobs


def _walk(root: str, tree_root: str, problems: list[str]) -> list[tuple[str, str]]:
    """Return ``(path, path relative to root)`` of every template under ``root``, sorted.

    Symlinks are followed only when they resolve inside ``tree_root``; any link that
    leaves it is refused, whatever it names, so a tree cannot reach outside itself.
    """
    found: list[tuple[str, str]] = []
    # Resolved directories on the current descent, to refuse a link back to an ancestor.
    stack: list[str] = []

    def visit(directory: str, rel: str) -> None:
        real = real_path(directory)
        if real in stack:
            problems.append(f"template dir {directory}: symlink loop back to {real}")
            return
        stack.append(real)
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            problems.append(f"template dir {directory}: {exc.strerror or exc}")
            entries = []
        for entry in entries:
            if entry.name.startswith(".."):
                continue  # Kubernetes' atomic-swap entries: ..data, ..2025_01_01_...
            path = join(directory, entry.name)
            if entry.is_symlink():
                target = real_path(path)
                if not is_inside(target, tree_root):
                    problems.append(
                        f"template {path}: symlink to {target} leaves template dir {root}"
                    )
                    continue
                if not os.path.exists(target):
                    if template_suffix(path) is not None:
                        problems.append(f"template {path}: broken symlink to {target}")
                    continue
            if entry.is_dir():
                visit(path, join(rel, entry.name))
            elif template_suffix(path) is not None:
                if entry.is_file() and stem(path):
                    found.append((path, join(rel, entry.name)))
                elif not entry.is_file():
                    problems.append(f"template {path}: not a regular file")
        stack.pop()

    visit(root, ".")
    return found


def _stat_template(source: str, problems: list[str]) -> os.stat_result | None:
    """Return the template's stat (following links), or record why it is unusable."""
    try:
        st = os.stat(source)
    except FileNotFoundError:
        problems.append(f"template {source}: no such file")
        return None
    except OSError as exc:
        problems.append(f"template {source}: {exc.strerror or exc}")
        return None
    if not stat.S_ISREG(st.st_mode):
        problems.append(f"template {source}: not a regular file")
        return None
    return st


def _choose_engine(source: str, engine: str | None, problems: list[str]) -> str | None:
    """Return the engine for ``source``: the override, else the one its suffix names."""
    if engine is not None:
        return engine
    known_suffix = template_suffix(source)
    if known_suffix is None:
        known = ", ".join(ENGINE_SUFFIXES)
        problems.append(
            f"template {source}: unknown template suffix {suffix(source) or '(none)'!r};"
            f" use one of {known} or --engine"
        )
        return None
    return ENGINE_SUFFIXES[known_suffix]


def _strip_suffix(source: str, problems: list[str]) -> str | None:
    """Return the destination file name for a template given without DEST."""
    if template_suffix(source) is None or not stem(source):
        problems.append(
            f"template {source}: cannot derive a destination from its name; give one as SRC:DEST"
        )
        return None
    return stem(source)


def _place(
    source: str,
    dest: str,
    out: str | None,
    out_root: str | None,
    problems: list[str],
    known: dict[str, str] | None = None,
) -> str:
    """Return ``dest`` made canonical below the output dir, or record why it cannot be.

    Below ``out`` (kept as the user spelled it), ``..`` and symlinked directories are
    resolved, so the writer sees the path it will really write; a destination that would
    land outside the output dir is a problem. ``known``: see :func:`real_path`.
    """
    if name(dest) in ("", ".", ".."):
        problems.append(f"template {source}: destination {dest} is not a file name")
        return dest
    if out is None or out_root is None:
        return dest
    landing = landing_path(dest, known)
    if not is_inside(parent(landing), out_root):
        problems.append(
            f"template {source}: destination {dest} resolves to {landing},"
            f" outside the output dir {out_root}"
        )
        return dest
    return join(out, relative_to(landing, out_root))


def _same_file(source: str, dest: str) -> bool:
    """Tell whether ``dest`` names the template itself (so rendering would overwrite it)."""
    try:
        return os.path.samefile(source, dest)
    except OSError:
        return landing_path(dest) == real_path(source)


#: Set-user-ID and set-group-ID: never copied from a template (``cp`` clears them too).
SET_ID_BITS = stat.S_ISUID | stat.S_ISGID


def _mode(src_stat: os.stat_result, mode: int | None) -> int:
    return mode if mode is not None else stat.S_IMODE(src_stat.st_mode) & ~SET_ID_BITS


def _duplicate_destinations(jobs: Sequence[TemplateJob]) -> list[str]:
    """Name every destination that two or more templates would write."""
    by_dest: dict[str, list[TemplateJob]] = {}
    known: dict[str, str] = {}
    for job in jobs:
        by_dest.setdefault(landing_path(job.dest, known), []).append(job)
    return [
        f"template {', '.join(str(j.source) for j in same)}: all write {same[0].dest}"
        for same in by_dest.values()
        if len(same) > 1
    ]
