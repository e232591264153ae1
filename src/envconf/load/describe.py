"""How a field is shown to people: its type and its default, in help text and docs.

Secrets' defaults are never shown.
"""

from __future__ import annotations

import enum
import types
import typing
from pathlib import PurePath
from typing import Any, Literal, Union

from pydantic import BaseModel

from envconf.load.model import FieldSpec

__all__ = ["format_default", "type_label"]


def type_label(annotation: Any) -> str:
    """A short human-readable type name: ``int``, ``list[str]``, ``SecretStr | None``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return type_label(typing.get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return " | ".join(type_label(a) for a in typing.get_args(annotation))
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(annotation))
    if origin is not None:
        args = ", ".join(type_label(a) for a in typing.get_args(annotation))
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{args}]" if args else name
    if annotation is type(None):
        return "None"
    if annotation is Any:
        return "Any"
    return getattr(annotation, "__name__", str(annotation).replace("typing.", ""))


def format_default(spec: FieldSpec) -> str:
    """The default as shown in help and docs; secrets are never shown."""
    if spec.required:
        return "(required)"
    if spec.secret:
        return "(secret)" if spec.default is not None else "None"
    value = spec.default
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    if isinstance(value, (set, frozenset)):
        # Sorted by text: a set's own order changes with PYTHONHASHSEED, docs must not.
        return "{" + ", ".join(sorted(map(repr, value))) + "}" if value else "set()"
    return repr(value) if isinstance(value, str) else str(value)
