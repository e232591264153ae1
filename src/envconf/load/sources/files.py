"""The ``file`` layer: swappable config files, profiles, templates and interpolation.

Files come from ``--config`` (repeatable), else ``<config_env>`` (comma-separated),
else the configured list. With ``<profile_env>=production`` each ``dir/name.ext`` is
followed by ``dir/name.production.ext`` when that exists. Files named by the operator
must exist; an absent default file is skipped and reported as not loaded.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from envconf.errors import Problem
from envconf.fileread import MAX_CONFIG_BYTES, FileReadError, FileVariables, read_regular
from envconf.load.classinfo import SECRET_REFERENCE, as_paths, class_info
from envconf.load.fit import fit
from envconf.load.merge import merge
from envconf.load.names import NameIndex
from envconf.load.source import FileReport, Input, Layer, LoadContext
from envconf.load.sources.base import EnvconfSource
from envconf.load.tree import Branch, Leaf, Scalar, Tree
from envconf.records import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from envconf.records import NamedTuple

FORMATS = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".toml": "toml", ".env": "env"}
TEMPLATE_SUFFIX = ".j2"


class FileCandidate(NamedTuple):
    """A config file envconf will consider, and whether the operator named it."""

    path: str
    explicit: bool


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


def with_profiles(
    files: list[FileCandidate], profiles: Sequence[str]
) -> tuple[list[FileCandidate], list[FileReport]]:
    """Insert each profile variant after its base file when it exists; report those missing."""
    out: list[FileCandidate] = []
    missing: list[FileReport] = []
    for candidate in files:
        out.append(candidate)
        for profile in profiles:
            variant = profile_path(candidate.path, profile)
            if os.path.exists(variant):
                out.append(FileCandidate(variant, False))
            else:
                missing.append(FileReport(variant, False, f"profile {profile}: not found"))
    return out, missing


def file_format(path: str) -> tuple[str | None, bool]:
    """Return (format, is_template) from the file name's suffixes."""
    name = path[: -len(TEMPLATE_SUFFIX)] if path.endswith(TEMPLATE_SUFFIX) else path
    suffix = os.path.splitext(name)[1].lower()
    base = os.path.basename(name).lower()
    if suffix not in FORMATS and (base == ".env" or base.startswith(".env.")):
        return "env", name != path  # ".env" has no suffix; ".env.production" is its profile
    return FORMATS.get(suffix), name != path


def _located(problem: Problem, path: str) -> Problem:
    return problem._replace(source="file", location=problem.location or path)


def load_file(
    path: str,
    variables: FileVariables,
    index: NameIndex,
    *,
    interpolation: bool,
    allow_unset: bool,
    secret: Callable[[tuple[str, ...]], bool] = lambda keys: False,
) -> tuple[Tree, list[Problem]]:
    """Read, render (``.j2``), parse and interpolate one config file into a raw tree.

    Returns the tree (whatever could be read) and every problem found in the file.
    ``secret(keys)`` says whether a key is a secret: an interpolation problem in its value
    then says what is wrong without the text (a ``$`` in a password reads as a reference).
    """
    fmt, template = file_format(path)
    if fmt is None:
        known = ", ".join(sorted(FORMATS))
        message = f"unknown config file format (use one of {known}, optionally + .j2)"
        return {}, [Problem("", message, "file", path)]
    try:
        data = read_regular(path, MAX_CONFIG_BYTES, "config file")
    except FileReadError as exc:
        return {}, [Problem("", str(exc).removeprefix(f"{path}: "), "file", path)]
    if template:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            return {}, [Problem("", "not valid UTF-8", "file", f"{path}:{line}")]
        from envconf.jinja_engine import jinja_line_map, render_jinja  # .j2 files only
        from envconf.templating import TemplateFailed

        try:
            rendered = render_jinja(text, path, variables)
        except TemplateFailed as exc:
            return {}, [_located(p, path) for p in exc.problems]
        data = rendered.encode("utf-8")
        written_on = jinja_line_map(text, path, variables, rendered)
        tree, problems = _parse(data, path, fmt, index, template)
        return _on_template_lines(tree, path, written_on), [
            _problem_on_template_line(p, path, written_on) for p in problems
        ]
    tree, problems = _parse(data, path, fmt, index, template)
    if interpolation:
        found: list[_Located] = []
        interpolate_tree(tree, variables, allow_unset, found, (), secret)
        if found:
            lines = data.decode("utf-8-sig", errors="replace").splitlines()
            problems.extend(_relocate(f, lines) for f in found)
    return tree, problems


def _parse(
    data: bytes, path: str, fmt: str, index: NameIndex, template: bool
) -> tuple[Tree, list[Problem]]:
    """Parse a config file's bytes in its format into a raw tree and its problems."""
    from envconf.errors import ConfigError
    from envconf.load.formats import parse_env_text, parse_structured

    try:
        if fmt == "env":
            from envconf.load.sources.envfile import env_file_tree

            tree, problems = env_file_tree(
                parse_env_text(data, path), path, index, template=template
            )
        else:
            tree, problems = parse_structured(data, path, fmt), []  # type: ignore[arg-type]
    except ConfigError as exc:
        return {}, [_located(p, path) for p in exc.problems]
    return tree, problems


def _template_line(location: str, path: str, lines: list[int]) -> str:
    """``path:N`` of the rendered text as ``path:M`` of the template that wrote line N."""
    prefix, _, number = location.rpartition(":")
    if prefix != path or not number.isdigit() or not 0 < int(number) <= len(lines):
        return location
    return f"{path}:{lines[int(number) - 1]}"


def _on_template_lines(tree: Tree, path: str, lines: list[int]) -> Tree:
    """``tree`` with every origin moved from the rendered text's lines to the template's."""
    out: Tree = {}
    for key, node in tree.items():
        if isinstance(node, Leaf):
            where = _template_line(node.location, path, lines)
            out[key] = node._replace(origin=node.origin._replace(location=where))
            continue
        if isinstance(node, Branch):
            where = _template_line(node.origin.location, path, lines)
            branch = Branch(node.origin._replace(location=where))
            branch.update(_on_template_lines(node, path, lines))
            out[key] = branch
        else:
            out[key] = _on_template_lines(node, path, lines)
    return out


def _problem_on_template_line(problem: Problem, path: str, lines: list[int]) -> Problem:
    located = _located(problem, path)
    return located._replace(location=_template_line(located.location, path, lines))


class _Located(NamedTuple):
    """An interpolation problem, located at its key's line until the file is consulted."""

    problem: Problem
    variable: str = ""
    lines_below_key: int = 0


def interpolate_tree(
    tree: Tree,
    variables: FileVariables,
    allow_unset: bool,
    problems: list[_Located],
    path: tuple[str, ...],
    secret: Callable[[tuple[str, ...]], bool] = lambda keys: False,
) -> None:
    """Expand ``${VAR}`` in every string leaf of ``tree`` in place (one pass, no re-expansion).

    A leaf that fails is removed from the tree, so it is reported once, by its reference.
    """
    failed: list[str] = []
    for key, node in tree.items():
        here = (*path, key)
        if isinstance(node, dict):
            interpolate_tree(node, variables, allow_unset, problems, here, secret)
            continue
        if not node.interpolate:
            continue
        read_before = len(variables.reads)
        try:
            value = _expand(node.value, variables, allow_unset)
        except FileReadError as exc:
            problems.append(_Located(Problem(".".join(here), str(exc), node.source, node.location)))
            failed.append(key)
            continue
        except Exception as exc:
            # Imported here: only a value holding "$" loads the interpolation modules.
            from envconf.interpolate import InterpolationError, line_of

            if not isinstance(exc, InterpolationError):
                raise
            text = _text_of(node.value)
            for issue in exc.issues:
                message = SECRET_REFERENCE if secret(here) else issue.message
                problem = Problem(".".join(here), message, node.source, node.location)
                below = line_of(text, issue.offset) - 1 if text else 0
                problems.append(_Located(problem, issue.variable, below))
            failed.append(key)
            continue
        if value is not node.value:
            # A value that took text from a VAR_FILE holds a secret, whatever the field.
            from_file = node.secret or len(variables.reads) > read_before
            from envconf.interpolate import references  # loaded by _expand already

            via = tuple(sorted(references(_text_of(node.value))))
            tree[key] = node._replace(value=value, interpolate=False, secret=from_file, via=via)
    for key in failed:
        del tree[key]


def _relocate(found: _Located, lines: list[str]) -> Problem:
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


def _expand(value: Any, variables: FileVariables, allow_unset: bool) -> Any:
    """Interpolate strings inside a raw value; returns the same object when unchanged."""
    if isinstance(value, Scalar):
        if "$" not in value.text or (value.tag is not None and not value.tag.endswith(":str")):
            return value
        return _interpolate(value.text, variables, allow_unset)
    if isinstance(value, str):
        return _interpolate(value, variables, allow_unset) if "$" in value else value
    if isinstance(value, list):
        items = [_expand(v, variables, allow_unset) for v in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    if isinstance(value, dict):
        mapped = {k: _expand(v, variables, allow_unset) for k, v in value.items()}
        return mapped if any(mapped[k] is not value[k] for k in value) else value
    return value


def _interpolate(text: str, variables: FileVariables, allow_unset: bool) -> str:
    """``${VAR}`` expanded in a text holding a "$"; the modules it takes load only then."""
    from envconf.interpolate import interpolate
    from envconf.templating import lookup_checked

    def lookup(name: str) -> str | None:
        return lookup_checked(variables, name)

    return interpolate(text, lookup, allow_unset=allow_unset)


class ConfigFileSource(EnvconfSource):
    """The ``file`` layer: swappable config files, profiles, templates and interpolation."""

    name = "file"

    def layer(self, ctx: LoadContext) -> Layer:
        info = class_info(self.settings_cls)
        from envconf.load.sources.argv import parsed_argv

        parsed = parsed_argv(ctx, self.settings_cls)
        configured = info.config_files if ctx.config_files is None else as_paths(ctx.config_files)
        candidates = choose_files(
            parsed.config_files if parsed else [], ctx.environ, info.config_env, configured
        )
        profiles = [
            p.strip() for p in ctx.environ.get(info.profile_env, "").split(",") if p.strip()
        ]
        files, missing = with_profiles(candidates, profiles)
        variables = FileVariables(ctx.environ, info.names.file_suffix)
        trees: list[Tree] = []
        reports: list[FileReport] = []
        problems: list[Problem] = []
        for candidate in files:
            if not candidate.explicit and not os.path.exists(candidate.path):
                reports.append(FileReport(candidate.path, False, "not found, skipped"))
                continue
            tree, found = load_file(
                candidate.path,
                variables,
                info.names,
                interpolation=info.interpolate,
                allow_unset=info.allow_unset,
                secret=info.is_secret,
            )
            trees.append(tree)
            problems.extend(found)
            loaded = bool(tree) or not found
            reports.append(
                FileReport(candidate.path, loaded, "" if loaded else "could not be read")
            )
        fitted, more = fit(merge(trees[::-1]), info.spec, info.extra)
        inputs = (
            *(Input(c.path, "config file") for c in candidates),
            *(Input(r.path, "config file") for r in missing),
            *(Input(r.path, r.variable) for r in variables.reads),
        )
        secrets = tuple(variables.secret_texts())
        return Layer(self.name, fitted, problems + more, inputs, (*reports, *missing), secrets)
