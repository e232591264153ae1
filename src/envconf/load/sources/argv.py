"""The ``cli`` layer of ``Settings.load(argv=...)``: flags generated from the settings model.

A hand-written parser (not argparse) so that it can be built once per settings class
and reused: building an argparse parser per load costs milliseconds. (A model that uses
pydantic-settings' own CLI settings, ``cli_parse_args`` and friends, gets
pydantic-settings' ``CliSettingsSource`` instead: see :mod:`envconf.load.pipeline`.)
"""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any

from envconf.errors import ConfigError, Problem, SecretOnCommandLineWarning, caller_stacklevel
from envconf.load.classinfo import class_cache, class_info
from envconf.load.model import FieldSpec, ModelSpec, is_sequence
from envconf.load.source import Layer, LoadContext
from envconf.load.sources.base import EnvconfSource
from envconf.load.tree import Leaf, Tree, set_leaf
from envconf.origin import Origin
from envconf.records import TYPE_CHECKING
from envconf.text import is_utf8

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from envconf.records import NamedTuple

HELP_FLAGS = frozenset({"-h", "--help"})
CONFIG_FLAG = "config"


class ArgvError(ConfigError):
    """The app's command line is malformed (unknown flag, missing value): a usage error."""

    exit_code = 2


class ParsedArgv(NamedTuple):
    """What the command line said: the raw tree (by field name) and any ``--config`` files."""

    tree: Tree
    config_files: list[str]


def parsed_argv(ctx: LoadContext, settings_cls: type[Any]) -> ParsedArgv | None:
    """The load's ``argv`` parsed for ``settings_cls``, once per load (the file layer needs
    its ``--config`` too); ``None`` when there is no ``argv``.

    Raises:
        ArgvError: as :func:`parse_argv`.
    """
    if ctx.argv is None:
        return None
    key = ("argv", settings_cls)
    if key not in ctx.memo:
        ctx.memo[key] = parse_for(settings_cls, ctx.argv)
    parsed: ParsedArgv | None = ctx.memo[key]
    return parsed


def parse_for(settings_cls: type[Any], argv: list[str]) -> ParsedArgv:
    """Parse ``argv`` with the flags of ``settings_cls`` (the flag table is built once).

    Raises:
        ArgvError: as :func:`parse_argv`.
    """
    info = class_info(settings_cls)
    cache = class_cache(settings_cls)
    table = cache.get("flags")
    if table is None:
        table = cache["flags"] = flag_table(info.spec)
    return parse_argv(argv, info.spec, table, info.prog)


class ArgvSource(EnvconfSource):
    """The ``cli`` layer: the ``argv`` given to ``Settings.load``."""

    name = "cli"

    def layer(self, ctx: LoadContext) -> Layer:
        from envconf.load.fit import fit

        parsed = parsed_argv(ctx, self.settings_cls)
        if parsed is None:
            return Layer(self.name, {}, [])
        info = class_info(self.settings_cls)
        tree, problems = fit(parsed.tree, info.spec, info.extra)
        return Layer(self.name, tree, problems)


def _norm(flag: str) -> str:
    return flag.replace("-", "_")


def flag_table(spec: ModelSpec) -> dict[str, FieldSpec | ModelSpec]:
    """Every accepted flag name (normalised, without ``--``) to the spec it sets."""
    table: dict[str, FieldSpec | ModelSpec] = {}

    def walk(model: ModelSpec) -> None:
        for child in model.children.values():
            table[_norm(".".join(child.path))] = child
            if isinstance(child, ModelSpec):
                walk(child)

    walk(spec)
    return table


_NOT_JSON = object()


def _json(raw: str) -> Any:
    """Decode JSON, or return ``_NOT_JSON`` (no exception keeps the raw text alive)."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return _NOT_JSON


def _value_leaf(spec: FieldSpec | ModelSpec, raw: str, flag: str) -> Any:
    if isinstance(spec, ModelSpec) or (spec.kind == "complex" and not is_sequence(spec.annotation)):
        value = _json(raw)
        if value is _NOT_JSON:
            raise ArgvError([Problem(_key(spec), "expected a JSON value", "cli", flag)])
        return value
    return raw


def _key(spec: FieldSpec | ModelSpec) -> str:
    return ".".join(spec.path)


def parse_argv(
    argv: list[str], spec: ModelSpec, table: dict[str, FieldSpec | ModelSpec], prog: str
) -> ParsedArgv:
    """Parse ``argv`` into the ``cli`` layer.

    Raises:
        ArgvError: unknown flag (with the closest match), missing value, stray argument.
        SystemExit: ``--help`` (after printing help to stdout); the one exit the library makes.
    """
    result = ParsedArgv({}, [])
    lists: dict[tuple[str, ...], list[Any]] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg in HELP_FLAGS:
            sys.stdout.write(render_help(spec, prog))
            raise SystemExit(0)
        if not arg.startswith("--") or arg == "--":
            message = f"unexpected argument {arg!r} (options start with --)"
            raise ArgvError([Problem("", message, "cli", f"argv[{i - 1}]")])
        name, eq, inline = arg[2:].partition("=")
        norm = _norm(name)
        if norm == CONFIG_FLAG:
            value = inline if eq else _next_value(argv, i, arg)
            i += 0 if eq else 1
            result.config_files.append(value)
            continue
        target = table.get(norm)
        negated = False
        if target is None and norm.startswith("no_"):
            candidate = table.get(norm[3:])
            if isinstance(candidate, FieldSpec) and candidate.kind == "bool":
                if eq:
                    given = "--" + name
                    problem = Problem(candidate.key, f"{given} takes no value", "cli", given)
                    raise ArgvError([problem])
                target, negated = candidate, True
        if target is None:
            # Compare names without the shared "--": it made unrelated flags look alike.
            choices = [n.replace("_", "-") for n in (*table, CONFIG_FLAG)]
            import difflib  # only for a suggestion: not at every start

            close = difflib.get_close_matches(name.replace("_", "-"), choices, n=1, cutoff=0.6)
            hint = f" (did you mean --{close[0]}?)" if close else ""
            # Name the flag only: the text after "=" may be a secret.
            given = "--" + name
            raise ArgvError([Problem("", f"unknown option {given}{hint}", "cli", given)])
        flag = "--" + name
        if isinstance(target, FieldSpec) and target.kind == "bool" and not eq:
            value = "false" if negated else "true"
        elif eq:
            value = inline
        else:
            value = _next_value(argv, i, flag)
            i += 1
        if not is_utf8(value):
            message = "holds bytes that are not valid UTF-8"
            raise ArgvError([Problem(_key(target), message, "cli", flag)])
        if isinstance(target, FieldSpec) and target.secret:
            warnings.warn(
                f"{flag}: a secret on the command line is visible to other processes "
                "(ps, /proc); prefer an environment variable, a _FILE variable or a secrets file",
                SecretOnCommandLineWarning,
                stacklevel=caller_stacklevel(),
            )
        if isinstance(target, FieldSpec) and is_sequence(target.annotation):
            items = lists.setdefault(target.path, [])
            if value.startswith("["):
                decoded = _json(value)
                if decoded is _NOT_JSON:
                    raise ArgvError([Problem(target.key, "expected a JSON list", "cli", flag)])
                items.extend(decoded if isinstance(decoded, list) else [decoded])
            else:
                items.append(value)
            set_leaf(result.tree, target.path, Leaf(items, Origin("cli", flag)))
            continue
        parsed = _value_leaf(target, value, flag)
        if isinstance(target, ModelSpec) and isinstance(parsed, dict):
            _spread(result.tree, target, parsed, flag)
        else:
            set_leaf(result.tree, target.path, Leaf(parsed, Origin("cli", flag)))
    return result


def _spread(tree: Tree, spec: ModelSpec, value: dict[str, Any], flag: str) -> None:
    for name, item in value.items():
        child = spec.children.get(name)
        if isinstance(child, ModelSpec) and isinstance(item, dict):
            _spread(tree, child, item, flag)
        else:
            set_leaf(tree, (*spec.path, name), Leaf(item, Origin("cli", flag)))


def _next_value(argv: list[str], i: int, flag: str) -> str:
    if i >= len(argv) or argv[i].startswith("--"):
        raise ArgvError([Problem("", f"option {flag} needs a value", "cli", flag)])
    return argv[i]


def render_help(spec: ModelSpec, prog: str) -> str:
    """Usage text: every key's flag, type, default and environment variable."""
    from envconf.load.describe import format_default, type_label  # --help only

    lines = [f"usage: {prog} [--config FILE] [OPTIONS]", "", "options:"]
    lines.append("  --config FILE  a config file (repeatable); replaces the default list")
    lines.append("  -h, --help     show this message and exit")
    for leaf in spec.leaves():
        flag = leaf.cli_flag
        if leaf.kind == "bool":
            flag = f"{flag}/--no-{flag[2:]}"
        else:
            flag = f"{flag} {leaf.path[-1].upper()}"
        detail = (
            f"{type_label(leaf.annotation)}, "
            + ("required" if leaf.required else f"default {format_default(leaf)}")
            + f", env {leaf.env_name}"
        )
        if is_sequence(leaf.annotation):
            detail += ", repeatable or JSON"
        lines.append(f"  {flag}")
        if leaf.description:
            lines.append(f"      {leaf.description}")
        lines.append(f"      [{detail}]")
    return "\n".join(lines) + "\n"
