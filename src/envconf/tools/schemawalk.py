"""Walks over a JSON Schema document: change every subschema, drop unused definitions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["prune_defs", "transform"]

#: Where subschemas sit in a schema: maps of them, single ones, lists of them.
_SCHEMA_MAPS = ("properties", "$defs", "patternProperties")
_SCHEMA_ONE = ("items", "additionalProperties", "not", "contains")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")


def transform(node: Any, change: Callable[[dict[str, Any]], dict[str, Any]]) -> Any:
    """Apply ``change`` to every subschema of ``node``, innermost first."""
    if not isinstance(node, dict):
        return node
    for key in _SCHEMA_MAPS:
        if isinstance(node.get(key), dict):
            node[key] = {k: transform(v, change) for k, v in node[key].items()}
    for key in _SCHEMA_ONE:
        if isinstance(node.get(key), dict):
            node[key] = transform(node[key], change)
    for key in _SCHEMA_LISTS:
        if isinstance(node.get(key), list):
            node[key] = [transform(v, change) for v in node[key]]
    return change(node)


def prune_defs(schema: dict[str, Any]) -> None:
    """Drop the definitions nothing refers to any more (models that were inlined)."""
    defs: dict[str, Any] = schema.pop("$defs", {})
    used: set[str] = set()

    def visit(node: dict[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref")
        name = ref.removeprefix("#/$defs/") if isinstance(ref, str) else ""
        if name in defs and name not in used:
            used.add(name)
            transform(defs[name], visit)
        return node

    transform(schema, visit)
    kept = {k: v for k, v in defs.items() if k in used}
    if kept:
        schema["$defs"] = kept
