"""A config file in ``.env`` format: keys written as variable names, read as the ``file`` layer.

``APP_DB__PORT=1`` or, without the prefix, ``DB__PORT=1``. Unlike the ``dotenv`` layer
(which is read like the environment), an unknown or repeated name here is an error, as
any other config file's unknown or repeated key is. ``NAME_FILE`` reads the value from a
file, as it does in the environment.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from envconf.errors import Problem
from envconf.fileread import FileReadError, read_secret_file
from envconf.load.formats.env_format import EnvEntry
from envconf.load.model import FieldSpec, ModelSpec
from envconf.load.names import NameIndex
from envconf.load.tree import Leaf, Tree, set_leaf
from envconf.origin import Origin


def env_file_tree(
    entries: Iterable[EnvEntry], path: str, index: NameIndex, *, template: bool
) -> tuple[Tree, list[Problem]]:
    """Build the tree of a ``.env``-format config file (by field name) and its problems."""
    tree: Tree = {}
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    suffix = index.norm(index.file_suffix)
    for entry in entries:
        location = f"{path}:{entry.line}"
        spec = index.lookup(entry.name, allow_unprefixed=True)
        via_file = False
        if spec is None and suffix and index.norm(entry.name).endswith(suffix):
            spec = index.lookup(entry.name[: -len(suffix)], allow_unprefixed=True)
            via_file = spec is not None
        if spec is None:
            known = [*index.by_name, *index.unprefixed]
            import difflib  # only for a suggestion: not at every start

            close = difflib.get_close_matches(index.norm(entry.name), known, n=1, cutoff=0.75)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(Problem("", f"unknown key {entry.name}{hint}", "file", location))
            continue
        key = ".".join(spec.path)
        if key in seen:
            message = f"{entry.name} sets {key} again (first at {seen[key]})"
            problems.append(Problem(key, message, "file", location))
            continue
        seen[key] = location
        value: Any = entry.value
        if via_file:
            try:
                value = read_secret_file(entry.value)
            except FileReadError as exc:
                problems.append(Problem(key, str(exc), "file", location))
                continue
            location = f"{entry.value} (via {location})"
        origin = Origin("file", location)
        interpolate = entry.quote != "'" and not template and not via_file
        if isinstance(spec, ModelSpec) or (isinstance(spec, FieldSpec) and spec.kind == "complex"):
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):
                problems.append(Problem(key, "not valid JSON", "file", location))
                continue
            if isinstance(spec, ModelSpec):
                if not isinstance(value, dict):
                    problems.append(Problem(key, "expected a JSON object", "file", location))
                    continue
                _spread(tree, spec.path, value, origin, via_file)
                continue
            interpolate = False
        set_leaf(tree, spec.path, Leaf(value, origin, via_file, interpolate))
    return tree, problems


def _spread(
    tree: Tree, path: tuple[str, ...], value: dict[str, Any], origin: Origin, secret: bool
) -> None:
    for name, item in value.items():
        if isinstance(item, dict):
            _spread(tree, (*path, name), item, origin, secret)
        else:
            set_leaf(tree, (*path, name), Leaf(item, origin, secret))
