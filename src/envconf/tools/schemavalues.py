"""Values inside a config file's schema, typed as the loader types them.

The ``file`` layer keeps a YAML scalar's text for a text field and reads keys of a model
by its fields, wherever the field sits: at the top, in a list's items, in a mapping's
values, in a model inside a value (``list[Server]``). These walks follow a field's Python
type and its JSON Schema side by side, so :mod:`envconf.tools.schema` can say the same.
"""

from __future__ import annotations

import copy
import typing
from typing import Any

from envconf.load.model import FieldSpec, ModelSpec, kind_of, strip_optional

__all__ = [
    "alias_path_heads",
    "deref",
    "generated_property",
    "keys_of",
    "value_models",
    "widen_text",
]


def keys_of(spec: ModelSpec, name: str) -> list[str]:
    """Every key a config file may name this field by: its name first, then its aliases."""
    return [name, *(k for k, n in spec.by_key.items() if n == name and k != name)]


def alias_path_heads(info: Any) -> set[str]:
    """The first keys of a field's ``AliasPath`` aliases (``AliasPath("cards", 0)``)."""
    from pydantic import AliasChoices, AliasPath

    alias = info.validation_alias
    choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
    return {c.path[0] for c in choices if isinstance(c, AliasPath) and isinstance(c.path[0], str)}


def generated_property(properties: dict[str, Any], child: FieldSpec | ModelSpec) -> dict[str, Any]:
    """pydantic's schema of a field, found under the key it chose (an alias, or the name)."""
    for key in (*child.names, child.path[-1]):
        if key in properties:
            return copy.deepcopy(properties[key])
    return {}


def deref(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """The definition a ``$ref`` node points to (the node itself when it is no reference)."""
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        found: dict[str, Any] = defs.get(ref.removeprefix("#/$defs/"), node)
        return found
    return node


def widen_text(node: dict[str, Any], annotation: Any) -> None:
    """Let a text position take any YAML scalar: the loader keeps its text as written.

    Positions are those the loader types by the field: the value itself, and the items
    and mapping values of containers (the fields of models inside them: value_models).
    """
    inner = strip_optional(annotation)
    kind = kind_of(inner)
    for branch in _branches(node):
        if kind == "str" and branch.get("type") == "string" and not {"enum", "const"} & set(branch):
            branch["type"] = ["string", "number", "boolean"]
        else:
            for item, arg in _inner_positions(branch, inner):
                widen_text(item, arg)


def _branches(node: dict[str, Any]) -> list[dict[str, Any]]:
    """``node`` and each ``anyOf`` alternative of it."""
    return [b for b in (node, *node.get("anyOf", ())) if isinstance(b, dict)]


def _inner_positions(branch: dict[str, Any], inner: Any) -> list[tuple[dict[str, Any], Any]]:
    """The schemas of a container's items or mapping values, each with its Python type."""
    args = typing.get_args(inner)
    origin = typing.get_origin(inner)
    out: list[tuple[dict[str, Any], Any]] = []
    if origin in (list, set, frozenset, tuple) and args:
        if origin is tuple:
            pairs = zip(branch.get("prefixItems", ()), args, strict=False)
            out.extend((item, arg) for item, arg in pairs if isinstance(item, dict))
        if isinstance(branch.get("items"), dict):
            out.append((branch["items"], args[0]))
    elif origin is dict and len(args) == 2 and isinstance(branch.get("additionalProperties"), dict):
        out.append((branch["additionalProperties"], args[1]))
    return out


def value_models(
    node: dict[str, Any], annotation: Any, defs: dict[str, Any], forbid: bool, done: set[str]
) -> None:
    """Models inside a value (``list[Server]``) as the loader reads them from a file.

    Each key is accepted as written by its name or an alias (the loader renames it), a
    text field takes any YAML scalar, and, under the class' ``extra="forbid"``, unknown
    keys are rejected where the loader reports them (:func:`envconf.load.fit.checked_model`).
    A model's definition is reshaped once, in place, for every position that uses it.
    """
    from envconf.load.fit import annotation_of, checked_model, model_spec, plain_model

    inner = strip_optional(annotation)
    model = plain_model(inner)
    for branch in _branches(node):
        if model is None:
            for item, arg in _inner_positions(branch, inner):
                value_models(item, arg, defs, forbid, done)
            continue
        ref = branch.get("$ref")
        if isinstance(ref, str):
            if ref in done:
                continue
            done.add(ref)
        target = deref(branch, defs)
        properties = target.get("properties")
        if not isinstance(properties, dict):
            continue
        spec = model_spec(model)
        for name, child in spec.children.items():
            prop = generated_property(properties, child)
            widen_text(prop, annotation_of(child))
            value_models(prop, annotation_of(child), defs, forbid, done)
            heads = alias_path_heads(model.model_fields[name])
            for key in keys_of(spec, name):
                if key in heads:
                    properties[key] = {"description": f"Alias path of {name}: holds its value."}
                else:
                    properties[key] = copy.deepcopy(prop)
        if forbid and checked_model(model) is not None:
            target["additionalProperties"] = False
