"""Turn NAME=value variables (the environment, ``.env`` files) into a raw tree.

One function serves the ``env`` layer, the ``dotenv`` layer and ``.env``-format config
files: they differ only in where the entries come from and how strict to be about names.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from envconf.errors import Problem
from envconf.model_info import FieldSpec, ModelSpec
from envconf.secretfile import SecretFileError, read_secret_file
from envconf.sources.names import NameIndex
from envconf.text import is_utf8
from envconf.tree import Leaf, Tree


class VarEntry(NamedTuple):
    """One ``NAME=value`` found somewhere; ``location`` is the env var name or file:line."""

    name: str
    value: str
    location: str
    interpolate: bool = False


@dataclass
class _Found:
    direct: VarEntry | None = None
    via_file: VarEntry | None = None


def set_leaf(tree: Tree, path: tuple[str, ...], leaf: Leaf) -> None:
    """Place ``leaf`` at ``path``, creating intermediate mappings."""
    node = tree
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[path[-1]] = leaf


def _suggest(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


def _json_value(entry: VarEntry, spec: FieldSpec | ModelSpec) -> tuple[Any, Problem | None]:
    try:
        return json.loads(entry.value), None
    except (ValueError, RecursionError):
        key = ".".join(spec.path)
        return None, Problem(key, "not valid JSON", "", entry.location)


def variables_layer(
    entries: Iterable[VarEntry],
    index: NameIndex,
    *,
    source: str,
    allow_unprefixed: bool = False,
    strict_names: bool = False,
) -> tuple[Tree, list[Problem]]:
    """Build the raw tree for ``entries``, reading ``VAR_FILE`` targets.

    Args:
        entries: the variables, in the order found.
        index: the settings class' name index.
        source: the layer name put into every leaf's origin.
        allow_unprefixed: accept ``DB__PORT`` as well as ``APP_DB__PORT`` (``.env`` config files).
        strict_names: unknown and repeated names are problems (config files), not ignored.
    """
    problems: list[Problem] = []
    found: dict[tuple[str, ...], _Found] = {}
    specs: dict[tuple[str, ...], FieldSpec | ModelSpec] = {}
    suffix = index.norm(index.file_suffix)
    seen: dict[str, VarEntry] = {}
    for entry in entries:
        spec = index.lookup(entry.name, allow_unprefixed=allow_unprefixed)
        via_file = False
        if spec is None and suffix and index.norm(entry.name).endswith(suffix):
            spec = index.lookup(entry.name[: -len(suffix)], allow_unprefixed=allow_unprefixed)
            via_file = spec is not None
        if spec is None:
            if strict_names:
                known = list(index.by_name) + list(index.unprefixed)
                hint = _suggest(index.norm(entry.name), known)
                problems.append(
                    Problem("", f"unknown key {entry.name}{hint}", source, entry.location)
                )
            continue
        if not via_file and not is_utf8(entry.value):
            problems.append(
                Problem(
                    ".".join(spec.path),
                    f"{entry.name} holds bytes that are not valid UTF-8",
                    source,
                    entry.location,
                )
            )
            continue
        norm = index.norm(entry.name)
        if strict_names and norm in seen:
            problems.append(
                Problem(
                    ".".join(spec.path),
                    f"{entry.name} is set twice (first at {seen[norm].location})",
                    source,
                    entry.location,
                )
            )
            continue
        seen[norm] = entry
        slot = found.setdefault(spec.path, _Found())
        specs[spec.path] = spec
        previous = slot.via_file if via_file else slot.direct
        if previous is not None and previous.name != entry.name:
            problems.append(
                Problem(
                    ".".join(spec.path),
                    f"{previous.name} and {entry.name} both set this key; keep one",
                    source,
                    entry.location,
                )
            )
            continue
        if via_file:
            slot.via_file = entry
        else:
            slot.direct = entry
    tree: Tree = {}
    # Shorter paths first, so APP_DB__PORT beats "port" inside APP_DB='{...}' whatever the
    # order of the environment (as in pydantic-settings: the nested variable wins).
    for path, slot in sorted(found.items(), key=lambda item: len(item[0])):
        spec = specs[path]
        problem = _place(tree, spec, slot, source)
        if problem is not None:
            problems.append(problem)
    return tree, problems


def _place(tree: Tree, spec: FieldSpec | ModelSpec, slot: _Found, source: str) -> Problem | None:
    """Resolve one key's direct/``_FILE`` pair into leaves of ``tree``."""
    key = ".".join(spec.path)
    entry = slot.direct
    secret_file = False
    if slot.via_file is not None and slot.via_file.value != "":
        if slot.direct is not None and slot.direct.value != "":
            return Problem(
                key,
                f"both {slot.direct.name} and {slot.via_file.name} are set; set only one",
                source,
                slot.via_file.location,
            )
        try:
            text = read_secret_file(slot.via_file.value)
        except SecretFileError as exc:
            return Problem(key, str(exc), source, slot.via_file.location)
        entry = VarEntry(
            slot.via_file.name,
            text,
            f"{slot.via_file.value} (via {slot.via_file.location})",
        )
        secret_file = True
    if entry is None:
        return None
    if isinstance(spec, ModelSpec):
        value, problem = _json_value(entry, spec)
        if problem is not None:
            return problem
        if not isinstance(value, dict):
            return Problem(key, "expected a JSON object", source, entry.location)
        _place_json(tree, spec, value, entry, source)
        return None
    value = entry.value
    if spec.kind == "complex":  # a file's content is read like the variable's value
        value, problem = _json_value(entry, spec)
        if problem is not None:
            return problem
    set_leaf(
        tree,
        spec.path,
        Leaf(value, source, entry.location, interpolate=entry.interpolate, secret_file=secret_file),
    )
    return None


def _place_json(
    tree: Tree, spec: ModelSpec, value: dict[str, Any], entry: VarEntry, source: str
) -> None:
    """Spread a JSON object given for a nested model into per-leaf entries."""
    for name, item in value.items():
        child = spec.children.get(name)
        path = (*spec.path, name)
        if isinstance(child, ModelSpec) and isinstance(item, dict):
            _place_json(tree, child, item, entry, source)
        else:
            set_leaf(tree, path, Leaf(item, source, entry.location))
