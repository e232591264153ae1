"""Fit the merged raw tree to the model: unknown keys, YAML scalar typing, plain values.

YAML scalars are typed by the field they land in: a ``str`` field gets the text as
written; any other field gets the YAML 1.2 core schema reading. Nothing else is
converted here: pydantic does that in one ``model_validate``.
"""

from __future__ import annotations

import difflib
import math
import re
import typing
from collections.abc import Iterator
from typing import Any, NamedTuple

from envconf.errors import Problem
from envconf.merge import Merged, Winner, iter_winners
from envconf.model_info import FieldSpec, Kind, ModelSpec, kind_of, strip_optional
from envconf.tree import Leaf, Scalar

_NULL = re.compile(r"(?:null|Null|NULL|~|)\Z")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT10 = re.compile(r"[-+]?[0-9]+\Z")
_INT8 = re.compile(r"0o[0-7]+\Z")
_INT16 = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_INF = re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z")
_NAN = re.compile(r"\.(?:nan|NaN|NAN)\Z")


class ScalarError(ValueError):
    """A YAML scalar cannot be read as its tag or schema type says."""


def core_schema(text: str) -> Any:
    """Read a plain scalar by the YAML 1.2 core schema."""
    if _NULL.match(text):
        return None
    if text in _BOOL:
        return _BOOL[text]
    try:
        if _INT10.match(text):
            return int(text, 10)
        if _INT8.match(text):
            return int(text[2:], 8)
        if _INT16.match(text):
            return int(text[2:], 16)
    except ValueError:  # more digits than int() accepts (CVE-2020-10735 guard)
        raise ScalarError("integer too large (too many digits)") from None
    if _FLOAT.match(text):
        return float(text)
    if _INF.match(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.match(text):
        return math.nan
    return text


def resolve_scalar(scalar: Scalar, kind: Kind) -> Any:
    """The value of a YAML scalar landing in a field of ``kind``."""
    tag = scalar.tag
    if tag is not None:
        short = tag.rsplit(":", 1)[-1]
        if short == "str":
            return scalar.text
        value = core_schema(scalar.text)
        expected: dict[str, type | tuple[type, ...]] = {
            "int": int,
            "float": (int, float),
            "bool": bool,
            "null": type(None),
        }
        wanted = expected.get(short)
        if wanted is not None and (
            not isinstance(value, wanted) or (short == "int" and isinstance(value, bool))
        ):
            raise ScalarError(f"not a valid !!{short}")
        return float(value) if short == "float" else value
    if not scalar.plain:
        return scalar.text
    if kind == "str":
        return None if _NULL.match(scalar.text) else scalar.text
    return core_schema(scalar.text)


def resolve_value(value: Any, annotation: Any) -> Any:
    """Resolve every Scalar inside a raw value by the (element) types of ``annotation``."""
    if isinstance(value, Scalar):
        return resolve_scalar(value, kind_of(annotation))
    if isinstance(value, list):
        fixed = _tuple_types(annotation)
        if fixed is not None and len(fixed) == len(value):
            return [resolve_value(v, t) for v, t in zip(value, fixed, strict=True)]
        item = _item_type(annotation, 0)
        return [resolve_value(v, item) for v in value]
    if isinstance(value, dict):
        item = _item_type(annotation, 1)
        return {k: resolve_value(v, item) for k, v in value.items()}
    return value


def _tuple_types(annotation: Any) -> tuple[Any, ...] | None:
    """The element types of a fixed-length ``tuple[int, str]``, else ``None``."""
    inner = strip_optional(annotation)
    args = typing.get_args(inner)
    if typing.get_origin(inner) is tuple and args and Ellipsis not in args:
        return args
    return None


def _item_type(annotation: Any, index: int) -> Any:
    inner = strip_optional(annotation)
    args = typing.get_args(inner)
    origin = typing.get_origin(inner)
    if origin in (list, set, frozenset) and args:
        return args[0]
    if origin is tuple and args and (len(args) == 2 and args[1] is Ellipsis):
        return args[0]
    if origin is dict and len(args) == 2:
        return args[index]
    return Any


class Provenance(NamedTuple):
    """The effective raw leaf for a key and the leaves it beat."""

    leaf: Leaf
    beaten: tuple[Leaf, ...]
    spec: FieldSpec | None


def shape(
    merged: Merged, spec: ModelSpec, extra: str, ranks: dict[str, int]
) -> tuple[dict[str, Any], dict[tuple[str, ...], Provenance], list[Problem]]:
    """Turn the merged tree into the plain data ``model_validate`` takes.

    Returns the data, the provenance per leaf path, and problems (unknown keys with a
    suggestion, scalars that cannot be read).
    """
    provenance: dict[tuple[str, ...], Provenance] = {}
    problems: list[Problem] = []
    data = _shape_model(merged, spec, extra, ranks, provenance, problems)
    return data, provenance, problems


def _first_leaf(node: Merged | Winner) -> Leaf:
    return next(iter_winners(node)).leaf


def _shape_model(
    node: Merged,
    spec: ModelSpec,
    extra: str,
    ranks: dict[str, int],
    provenance: dict[tuple[str, ...], Provenance],
    problems: list[Problem],
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, child in node.items():
        path = (*spec.path, name)
        target = spec.children.get(name)
        if target is None:
            if extra == "ignore" or not any(True for _ in iter_winners(child)):
                continue
            if extra == "allow":
                data[name] = _plain(child)
                continue
            leaf = _first_leaf(child)
            close = difflib.get_close_matches(name, list(spec.children), n=1, cutoff=0.6)
            hint = f" (did you mean {'.'.join((*spec.path, close[0]))}?)" if close else ""
            problems.append(
                Problem(".".join(path), f"unknown key{hint}", leaf.source, leaf.location)
            )
            continue
        if isinstance(target, ModelSpec):
            if isinstance(child, Winner):
                provenance[path] = Provenance(child.leaf, tuple(child.beaten), None)
                data[name] = _resolve(child.leaf, Any, path, problems)
            else:
                data[name] = _shape_model(child, target, extra, ranks, provenance, problems)
            continue
        if isinstance(child, Winner):
            provenance[path] = Provenance(child.leaf, tuple(child.beaten), target)
            data[name] = _resolve(child.leaf, target.annotation, path, problems)
            continue
        # A mapping merged from several places: its entries are siblings, not rivals, so
        # only what they overrode counts as overridden.
        winners = sorted(iter_winners(child), key=lambda w: -w.order)
        top = winners[0]
        rivals = sorted(
            (b for w in winners for b in w.beaten), key=lambda b: ranks.get(b.source, len(ranks))
        )
        beaten = _unique(rivals)
        provenance[path] = Provenance(top.leaf, tuple(beaten), target)
        # Each entry keeps its own origin, so an error in one names its line, not the first's.
        for sub, winner in _entries(child, path):
            provenance[sub] = Provenance(winner.leaf, tuple(winner.beaten), target)
        value = _plain(child)
        data[name] = _resolve(
            Leaf(value, top.leaf.source, top.leaf.location), target.annotation, path, problems
        )
    return data


def _entries(node: Merged, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Winner]]:
    """Every winner inside a merged mapping, with its full path."""
    for key, child in node.items():
        if isinstance(child, Winner):
            yield (*path, key), child
        else:
            yield from _entries(child, (*path, key))


def _unique(leaves: list[Leaf]) -> list[Leaf]:
    """Leaves by precedence with repeated origins dropped, in first-seen order."""
    seen: set[tuple[str, str]] = set()
    out: list[Leaf] = []
    for leaf in leaves:
        if (leaf.source, leaf.location) not in seen:
            seen.add((leaf.source, leaf.location))
            out.append(leaf)
    return out


def _plain(node: Merged | Winner) -> Any:
    if isinstance(node, Winner):
        return node.leaf.value
    return {k: _plain(v) for k, v in node.items()}


def _resolve(leaf: Leaf, annotation: Any, path: tuple[str, ...], problems: list[Problem]) -> Any:
    try:
        return resolve_value(leaf.value, annotation)
    except ScalarError as exc:
        problems.append(Problem(".".join(path), str(exc), leaf.source, leaf.location))
        return None
