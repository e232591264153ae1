"""Raw configuration trees: what sources find, before any type conversion.

A tree is a nested ``dict`` whose inner nodes are mappings and whose leaves are
:class:`Leaf` objects. Each leaf carries the raw value and where it came from, so that
merge, validation and ``explain`` can always name the origin of a value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union


@dataclass(frozen=True, slots=True)
class Scalar:
    """A YAML scalar kept exactly as written, so the target field's type decides its meaning.

    ``plain`` is false for quoted and block scalars, which are always strings.
    ``tag`` is an explicit tag such as ``tag:yaml.org,2002:str`` or ``None``.
    """

    text: str
    plain: bool = True
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class Leaf:
    """One raw value found by a source, with its origin.

    ``value`` is a ``str``, a number, a bool, ``None``, a :class:`Scalar`, or a list or
    dict of those. ``line`` is the 1-based line inside ``location``'s file, when known.
    ``interpolate`` says whether ``${VAR}`` references in its strings are still to expand.
    """

    value: Any
    source: str
    location: str
    interpolate: bool = False
    secret_file: bool = False


Tree = dict[str, Union["Tree", Leaf]]
