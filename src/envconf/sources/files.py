"""The ``file`` layer: swappable config files, profiles, templates and interpolation.

Files come from ``--config`` (repeatable), else ``<config_env>`` (comma-separated),
else the configured list. With ``<profile_env>=production`` each ``dir/name.ext`` is
followed by ``dir/name.production.ext`` when that exists. Files named by the operator
must exist; an absent default file is skipped and reported as not loaded.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from envconf.errors import ConfigError, Problem
from envconf.interpolate import InterpolationError, interpolate, line_of
from envconf.model_info import FieldSpec
from envconf.secretfile import SecretFileError
from envconf.sources.formats import parse_env_text, parse_structured
from envconf.sources.names import NameIndex
from envconf.sources.variables import VarEntry, variables_layer
from envconf.templating import TemplateFailed, VariableResolver, render_jinja
from envconf.tree import Leaf, Scalar, Tree

MAX_CONFIG_BYTES = 64 * 1024 * 1024
FORMATS = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".toml": "toml", ".env": "env"}
TEMPLATE_SUFFIX = ".j2"


class FileCandidate(NamedTuple):
    """A config file envconf will consider, and whether the operator named it."""

    path: str
    explicit: bool


class FileReport(NamedTuple):
    """A config file that was considered, for ``explain``."""

    path: str
    loaded: bool


def choose_files(
    cli_files: Sequence[str],
    env: Mapping[str, str],
    config_env: str,
    configured: Sequence[str],
) -> list[FileCandidate]:
    """Pick the file list by the documented order of choice."""
    if cli_files:
        return [FileCandidate(p, True) for p in cli_files]
    named = env.get(config_env, "") if config_env else ""
    if named.strip():
        return [FileCandidate(p.strip(), True) for p in named.split(",") if p.strip()]
    return [FileCandidate(p, False) for p in configured]


def profile_path(path: str, profile: str) -> str:
    """``config/app.yaml`` -> ``config/app.production.yaml`` (``.j2`` kept last)."""
    head, name = os.path.split(path)
    template = name.endswith(TEMPLATE_SUFFIX)
    if template:
        name = name[: -len(TEMPLATE_SUFFIX)]
    stem, dot, ext = name.rpartition(".")
    new = f"{stem}.{profile}.{ext}" if dot and stem else f"{name}.{profile}"
    if template:
        new += TEMPLATE_SUFFIX
    return os.path.join(head, new)


def with_profiles(files: list[FileCandidate], profiles: Sequence[str]) -> list[FileCandidate]:
    """Insert each profile variant after its base file (only when it exists)."""
    out: list[FileCandidate] = []
    for candidate in files:
        out.append(candidate)
        for profile in profiles:
            variant = profile_path(candidate.path, profile)
            if os.path.exists(variant):
                out.append(FileCandidate(variant, False))
    return out


def file_format(path: str) -> tuple[str | None, bool]:
    """Return (format, is_template) from the file name's suffixes."""
    name = path[: -len(TEMPLATE_SUFFIX)] if path.endswith(TEMPLATE_SUFFIX) else path
    suffix = os.path.splitext(name)[1].lower()
    base = os.path.basename(name).lower()
    if suffix not in FORMATS and (base == ".env" or base.startswith(".env.")):
        return "env", name != path  # ".env" has no suffix; ".env.production" is its profile
    return FORMATS.get(suffix), name != path


def read_config_bytes(path: str) -> bytes:
    """Read a config file: a regular file of bounded size (a FIFO must not hang)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ConfigError([Problem("", "config file not found", "file", path)]) from None
    except OSError as exc:
        raise ConfigError(
            [Problem("", f"cannot open config file: {exc.strerror}", "file", path)]
        ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError([Problem("", "config file is not a regular file", "file", path)])
        if info.st_size > MAX_CONFIG_BYTES:
            raise ConfigError(
                [Problem("", f"config file larger than {MAX_CONFIG_BYTES} bytes", "file", path)]
            )
        with os.fdopen(os.dup(fd), "rb") as handle:
            return handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(
            [Problem("", f"cannot read config file: {exc.strerror}", "file", path)]
        ) from None
    finally:
        os.close(fd)


def load_file(
    path: str,
    env: Mapping[str, str],
    index: NameIndex,
    *,
    interpolation: bool,
    allow_unset: bool,
) -> Tree:
    """Read, render (``.j2``), parse and interpolate one config file into a raw tree."""
    fmt, template = file_format(path)
    if fmt is None:
        known = ", ".join(sorted(FORMATS))
        raise ConfigError(
            [
                Problem(
                    "",
                    f"unknown config file format (use one of {known}, optionally + .j2)",
                    "file",
                    path,
                )
            ]
        )
    data = read_config_bytes(path)
    secret_names = [n for n, s in index.by_name.items() if isinstance(s, FieldSpec) and s.secret]
    resolver = VariableResolver(env, index.file_suffix, secret_names)
    if template:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise ConfigError([Problem("", "not valid UTF-8", "file", f"{path}:{line}")]) from None
        try:
            data = render_jinja(text, path, resolver).encode("utf-8")
        except TemplateFailed as exc:
            raise ConfigError(
                [
                    Problem(i.variable, i.message, "file", f"{i.template}:{i.line}")
                    for i in exc.issues
                ]
            ) from None
    if fmt == "env":
        entries = [
            VarEntry(
                e.name, e.value, f"{path}:{e.line}", interpolate=e.quote != "'" and not template
            )
            for e in parse_env_text(data, path)
        ]
        tree, problems = variables_layer(
            entries, index, source="file", allow_unprefixed=True, strict_names=True
        )
        if problems:
            raise ConfigError(problems)
    else:
        tree = parse_structured(data, path, fmt)  # type: ignore[arg-type]
    if interpolation and not template:
        found: list[Located] = []
        interpolate_tree(tree, resolver, allow_unset, found, ())
        if found:
            lines = data.decode("utf-8-sig", errors="replace").splitlines()
            raise PartialLoadError([_relocate(f, lines) for f in found], tree)
    return tree


class PartialLoadError(ConfigError):
    """Some values of a file could not be interpolated; ``tree`` holds the rest.

    Loading goes on with the rest so that every other problem (types, unknown keys)
    is still reported in the same error.
    """

    def __init__(self, problems: list[Problem], tree: Tree) -> None:
        super().__init__(problems)
        self.tree = tree


class Located(NamedTuple):
    """An interpolation problem, located at its key's line until the file is consulted."""

    problem: Problem
    variable: str = ""
    lines_below_key: int = 0


def interpolate_tree(
    tree: Tree,
    resolver: VariableResolver,
    allow_unset: bool,
    problems: list[Located],
    path: tuple[str, ...],
) -> None:
    """Expand ``${VAR}`` in every string leaf of ``tree`` in place (one pass, no re-expansion).

    A leaf that fails is removed from the tree, so it is reported once, by its reference.
    """
    failed: list[str] = []
    for key, node in tree.items():
        here = (*path, key)
        if isinstance(node, dict):
            interpolate_tree(node, resolver, allow_unset, problems, here)
            continue
        if not node.interpolate:
            continue
        try:
            value = _expand(node.value, resolver, allow_unset)
        except InterpolationError as exc:
            text = _text_of(node.value)
            for issue in exc.issues:
                message = resolver.scrub(issue.message)  # a ":?" message may quote a secret
                problem = Problem(".".join(here), message, node.source, node.location)
                below = line_of(text, issue.offset) - 1 if text else 0
                problems.append(Located(problem, issue.variable, below))
            failed.append(key)
            continue
        except SecretFileError as exc:
            problem = Problem(".".join(here), str(exc), node.source, node.location)
            problems.append(Located(problem))
            failed.append(key)
            continue
        if value is not node.value:
            tree[key] = Leaf(
                value, node.source, node.location, interpolate=False, secret_file=node.secret_file
            )
    for key in failed:
        del tree[key]


def _relocate(found: Located, lines: list[str]) -> Problem:
    """Point an interpolation problem at the line of its reference, not of its key.

    A value's text may start below its key (YAML block scalars, TOML multi-line strings)
    or hold escaped newlines (JSON), so the estimate is checked against the file: the
    first line from the estimate on that mentions the variable, else the key's line.
    """
    problem = found.problem
    file, _, key_line = problem.location.rpartition(":")
    if not found.variable or not key_line.isdigit():
        return problem
    refs = ("$" + found.variable, "${" + found.variable)
    first = int(key_line)
    for line in range(first + found.lines_below_key, len(lines) + 1):
        if any(ref in lines[line - 1] for ref in refs):
            return problem._replace(location=f"{file}:{line}")
    return problem


def _text_of(value: Any) -> str:
    if isinstance(value, Scalar):
        return value.text
    return value if isinstance(value, str) else ""


def _expand(value: Any, resolver: VariableResolver, allow_unset: bool) -> Any:
    """Interpolate strings inside a raw value; returns the same object when unchanged."""
    if isinstance(value, Scalar):
        if "$" not in value.text or (value.tag is not None and not value.tag.endswith(":str")):
            return value
        return interpolate(value.text, resolver.lookup, allow_unset=allow_unset)
    if isinstance(value, str):
        return (
            interpolate(value, resolver.lookup, allow_unset=allow_unset) if "$" in value else value
        )
    if isinstance(value, list):
        items = [_expand(v, resolver, allow_unset) for v in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    if isinstance(value, dict):
        mapped = {k: _expand(v, resolver, allow_unset) for k, v in value.items()}
        return mapped if any(mapped[k] is not value[k] for k in value) else value
    return value


def files_layers(
    candidates: list[FileCandidate],
    env: Mapping[str, str],
    index: NameIndex,
    *,
    interpolation: bool,
    allow_unset: bool,
) -> tuple[list[Tree], list[FileReport], list[Problem]]:
    """Load every candidate; returns one tree per loaded file (earliest first)."""
    trees: list[Tree] = []
    reports: list[FileReport] = []
    problems: list[Problem] = []
    for candidate in candidates:
        if not candidate.explicit and not os.path.exists(candidate.path):
            reports.append(FileReport(candidate.path, False))
            continue
        try:
            trees.append(
                load_file(
                    candidate.path, env, index, interpolation=interpolation, allow_unset=allow_unset
                )
            )
            reports.append(FileReport(candidate.path, True))
        except PartialLoadError as exc:
            trees.append(exc.tree)
            problems.extend(exc.problems)
            reports.append(FileReport(candidate.path, True))
        except ConfigError as exc:
            problems.extend(exc.problems)
            reports.append(FileReport(candidate.path, False))
    return trees, reports, problems
