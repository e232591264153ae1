"""Fit a layer's tree to the model: keys as pydantic validates them, unknown keys, YAML scalars.

Config files and the command line name keys by field name (or alias); this step renames
them to the key pydantic validates under, reports unknown keys (with a suggestion) when
the model forbids extras, and types YAML scalars by the field they land in: a ``str``
field gets the text as written; any other field the YAML 1.2 core schema reading.
Nothing else is converted here: pydantic does that in one validation.
"""

from __future__ import annotations

import functools
import math
import typing
from typing import Any

from pydantic import BaseModel

from envconf.errors import Problem
from envconf.load.model import (
    FieldSpec,
    Kind,
    ModelSpec,
    build_spec,
    kind_of,
    model_class,
    strip_optional,
)
from envconf.load.tree import Branch, Leaf, Scalar, Tree, iter_leaves, origin_of_node
from envconf.origin import Origin

# The YAML 1.2 core schema's plain scalars, read with str methods: compiling the seven
# regular expressions of the spec cost ~0.2 ms at every app start.
_NULL = frozenset({"null", "Null", "NULL", "~", ""})
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INF = frozenset({".inf", ".Inf", ".INF"})
_NAN = frozenset({".nan", ".NaN", ".NAN"})
_OCTAL = "01234567"
_HEX = "0123456789abcdefABCDEF"


def _digits(text: str) -> bool:
    """``[0-9]+``: one or more ASCII digits, nothing else."""
    return text.isascii() and text.isdigit()


def _unsigned(text: str) -> str:
    """``text`` without one leading ``+`` or ``-``."""
    return text[1:] if text[:1] in ("+", "-") else text


def _is_float(text: str) -> bool:
    """``[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?``, the core schema's float."""
    text = _unsigned(text)
    if not text.isascii():
        return False
    mantissa, e, exponent = text.lower().partition("e")
    if e and not _digits(_unsigned(exponent)):
        return False
    whole, dot, fraction = mantissa.partition(".")
    if not dot:
        return _digits(whole)
    if not whole:
        return _digits(fraction)
    return _digits(whole) and (not fraction or _digits(fraction))


class ScalarError(ValueError):
    """A YAML scalar cannot be read as its tag or schema type says."""


def core_schema(text: str) -> Any:
    """Read a plain scalar by the YAML 1.2 core schema."""
    if text in _NULL:
        return None
    if text in _BOOL:
        return _BOOL[text]
    try:
        if _digits(_unsigned(text)):
            return int(text, 10)
        if len(text) > 2 and text[1] in "ox" and text[0] == "0":
            digits = text[2:]
            if text[1] == "o" and not digits.strip(_OCTAL):
                return int(digits, 8)
            if text[1] == "x" and not digits.strip(_HEX):
                return int(digits, 16)
    except ValueError:  # more digits than int() accepts (CVE-2020-10735 guard)
        raise ScalarError("integer too large (too many digits)") from None
    if _is_float(text):
        return float(text)
    if _unsigned(text) in _INF:
        return -math.inf if text.startswith("-") else math.inf
    if text in _NAN:
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
        return None if scalar.text in _NULL else scalar.text
    return core_schema(scalar.text)


def resolve_value(value: Any, annotation: Any) -> Any:
    """Resolve every Scalar inside a raw value by the (element) types of ``annotation``.

    A mapping for a model (an element of ``list[Server]``) is typed field by field and its
    keys renamed to the ones pydantic validates under, as a top-level section is.
    """
    if isinstance(value, Scalar):
        return resolve_scalar(value, kind_of(annotation))
    model = plain_model(annotation)
    if model is not None and isinstance(value, dict):
        spec = model_spec(model)
        out = {}
        for key, item in value.items():
            target = spec.child(key) if isinstance(key, str) else None
            if target is None:
                out[key] = resolve_value(item, Any)
            else:
                out[target.key_path[-1]] = resolve_value(item, annotation_of(target))
        return out
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


def fit(tree: Tree, spec: ModelSpec, extra: str) -> tuple[Tree, list[Problem]]:
    """Return ``tree`` keyed as pydantic validates it, scalars typed, and its problems.

    Args:
        tree: a layer keyed by field names or aliases.
        spec: the settings model.
        extra: the model's ``extra`` setting: unknown keys are problems under ``forbid``,
            dropped under ``ignore`` and kept under ``allow``.
    """
    problems: list[Problem] = []
    return _fit_model(tree, spec, extra, problems), problems


def _fit_model(tree: Tree, spec: ModelSpec, extra: str, problems: list[Problem]) -> Tree:
    out: Tree = {}
    for key, node in tree.items():
        target = spec.child(key)
        if target is None:
            if extra == "allow":  # typed by the YAML core schema, as an Any field is
                out[key] = (
                    _fit_mapping(node, Any, key, problems)
                    if isinstance(node, dict)
                    else _resolve(node, Any, key, problems)
                )
            elif extra != "ignore" and (not isinstance(node, dict) or node):
                problems.append(_unknown(key, node, spec))
            continue
        name = target.key_path[-1]
        if isinstance(target, ModelSpec):
            if isinstance(node, dict):
                out[name] = _fit_model(node, target, extra, problems)
            else:
                out[name] = _resolve(node, Any, target.key, problems)
        elif isinstance(node, dict):
            out[name] = _fit_mapping(node, target.annotation, target.key, problems)
        else:
            out[name] = _resolve(node, target.annotation, target.key, problems)
    return out


def _fit_mapping(node: Tree, annotation: Any, key: str, problems: list[Problem]) -> Tree:
    """A mapping below a leaf field (a ``dict`` field, a model without a delimiter)."""
    model = plain_model(annotation)
    spec = model_spec(model) if model is not None else None
    item = _item_type(annotation, 1)
    out: Tree = {}
    for name, child in node.items():
        here = f"{key}.{name}"
        target = spec.child(name) if spec is not None else None
        if target is not None:
            name, item = target.key_path[-1], annotation_of(target)
        elif spec is not None:
            item = Any
        if isinstance(child, dict):
            out[name] = _fit_mapping(child, item, here, problems)
        else:
            out[name] = _resolve(child, item, here, problems)
    return out


def plain_model(annotation: Any) -> type[BaseModel] | None:
    """The model a value of ``annotation`` is validated as, when its keys are its fields.

    ``None`` for anything else, and for a model whose keys are not simply its fields: a
    ``RootModel``, or one with a ``before``/``wrap`` model validator (it may read any key).
    """
    model = model_class(annotation)
    if model is None or getattr(model, "__pydantic_root_model__", False):
        return None
    validators = model.__pydantic_decorators__.model_validators.values()
    if any(v.info.mode in ("before", "wrap") for v in validators):
        return None
    return model


@functools.cache
def model_spec(model: type[BaseModel]) -> ModelSpec:
    """The fields of a model met inside a value (``list[Server]``), keyed as in ``by_key``."""
    return build_spec(model, prefix="", delimiter="")


def annotation_of(target: FieldSpec | ModelSpec) -> Any:
    """The type a field's value is validated as (a nested model's class)."""
    return target.model if isinstance(target, ModelSpec) else target.annotation


def unknown_nested_keys(tree: Tree, spec: ModelSpec, case_sensitive: bool = True) -> list[Problem]:
    """Unknown keys inside nested models, from any layer (a JSON object in a variable...).

    pydantic ignores them when the nested model does not forbid extras; envconf reports
    them as it does for config files, so a typo never passes silently: in a nested
    section, and in a model inside a value (``list[Server]``, ``dict[str, Server]``, a
    model field without a nesting delimiter). Top-level keys are pydantic's to judge
    (``extra``).
    """
    problems: list[Problem] = []

    def walk(node: Tree, model: ModelSpec) -> None:
        for key, child in node.items():
            target = _lookup(model, key, case_sensitive)
            if target is None:
                if model.path:
                    problems.append(_unknown(key, child, model))
            elif isinstance(target, ModelSpec):
                if isinstance(child, dict):
                    walk(child, target)
            elif holds_model(target.annotation):
                _walk_value(child, target.annotation, target.path, None, case_sensitive, problems)

    walk(tree, spec)
    return problems


def holds_model(annotation: Any) -> bool:
    """Whether a model appears anywhere in ``annotation`` (cached: checked at every load)."""
    try:
        return _holds_model_cached(annotation)
    except TypeError:  # an unhashable annotation (rare) is checked every time
        return _holds_model(annotation)


def _holds_model(annotation: Any) -> bool:
    return model_class(annotation) is not None or any(
        holds_model(arg) for arg in typing.get_args(strip_optional(annotation))
    )


_holds_model_cached = functools.cache(_holds_model)


def checked_model(annotation: Any) -> type[BaseModel] | None:
    """The model inside a value whose unknown keys envconf reports (pydantic would drop them).

    A :func:`plain_model` that neither takes extra keys (``extra="allow"``) nor reports
    them itself (``extra="forbid"``).
    """
    model = plain_model(annotation)
    if model is None or model.model_config.get("extra") not in (None, "ignore"):
        return None
    return model


def _lookup(model: ModelSpec, key: str, case_sensitive: bool) -> FieldSpec | ModelSpec | None:
    target = model.child(key)
    if target is None and not case_sensitive:  # as pydantic-settings matches them
        lowered = key.lower()
        name = next((n for k, n in model.by_key.items() if k.lower() == lowered), None)
        target = model.children[name] if name is not None else None
    return target


def _walk_value(
    value: Any,
    annotation: Any,
    path: tuple[str, ...],
    origin: Origin | None,
    case_sensitive: bool,
    problems: list[Problem],
) -> None:
    """Report unknown keys of every model inside ``value`` (a tree node or a raw value)."""
    if isinstance(value, Leaf):
        origin, value = value.origin, value.value
    elif isinstance(value, Branch):
        origin = value.origin
    inner = strip_optional(annotation)
    if model_class(inner) is not None:
        model = checked_model(inner)
        if model is not None and isinstance(value, dict):
            spec = model_spec(model)
            for key, item in value.items():
                target = _lookup(spec, key, case_sensitive) if isinstance(key, str) else None
                if target is None:
                    problems.append(_unknown_in_value(path, str(key), item, origin, spec))
                else:
                    here = (*path, target.path[-1])
                    _walk_value(item, annotation_of(target), here, origin, case_sensitive, problems)
        return
    if isinstance(value, (list, tuple)):
        fixed = _tuple_types(inner)
        if fixed is not None and len(fixed) == len(value):
            types: Any = fixed
        else:
            types = [_item_type(inner, 0)] * len(value)
        # pydantic-settings matches keys case-insensitively only down a chain of models:
        # inside a list or a dict, the keys must be written as the fields are.
        for index, (item, kind) in enumerate(zip(value, types, strict=True)):
            _walk_value(item, kind, (*path, str(index)), origin, True, problems)
    elif isinstance(value, dict) and typing.get_origin(inner) is dict:
        item_type = _item_type(inner, 1)
        for key, item in value.items():
            _walk_value(item, item_type, (*path, str(key)), origin, True, problems)


def _unknown_in_value(
    path: tuple[str, ...], key: str, node: Any, origin: Origin | None, spec: ModelSpec
) -> Problem:
    """An unknown key of a model inside a value, located where the value was written."""
    if isinstance(node, (Leaf, Branch)):
        origin = node.origin
    elif isinstance(node, dict):  # a section of a tree, or a mapping inside a raw value
        first = next((leaf for _, leaf in iter_leaves(node) if isinstance(leaf, Leaf)), None)
        origin = first.origin if first is not None else origin
    return _problem(path, key, origin, spec)


def _unknown(key: str, node: Tree | Leaf, spec: ModelSpec) -> Problem:
    return _problem(spec.path, key, origin_of_node(node), spec)


def _problem(path: tuple[str, ...], key: str, origin: Origin | None, spec: ModelSpec) -> Problem:
    source, location = (origin.source, origin.location) if origin else ("", "")
    import difflib  # only for a suggestion: not at every start

    close = difflib.get_close_matches(key, list(spec.children), n=1, cutoff=0.6)
    hint = f" (did you mean {'.'.join((*path, close[0]))}?)" if close else ""
    dotted = ".".join((*path, key))
    return Problem(dotted, f"unknown key{hint}", source, location)


def _resolve(leaf: Leaf, annotation: Any, key: str, problems: list[Problem]) -> Leaf:
    try:
        value = resolve_value(leaf.value, annotation)
    except ScalarError as exc:
        problems.append(Problem(key, str(exc), leaf.source, leaf.location))
        return leaf._replace(value=None)
    return leaf if value is leaf.value else leaf._replace(value=value)
