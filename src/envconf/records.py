"""``NamedTuple`` records for the modules on the container-start path, without ``typing``.

``envconf render`` runs at every container start, and importing :mod:`typing` costs about
3.5 ms there (a tenth of the whole render of 21 files). Modules on that path declare
records exactly as with ``typing.NamedTuple``; type checkers see ``typing.NamedTuple``,
and at run time this module turns the class body into a :func:`collections.namedtuple`
the way ``typing`` itself does (fields from the annotations, trailing defaults, methods
and properties copied over)::

    from envconf.records import TYPE_CHECKING

    if TYPE_CHECKING:
        from typing import NamedTuple
    else:
        from envconf.records import NamedTuple

Those modules also write ``TYPE_CHECKING`` from here instead of from ``typing``.
"""

from __future__ import annotations

from collections import namedtuple

#: ``False`` at run time; type checkers treat the name as true, as ``typing.TYPE_CHECKING``.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Any

# What a class body holds that is not a field, a method or a property of the record.
_NOT_COPIED = frozenset(
    {"__annotations__", "__module__", "__qualname__", "__doc__", "__dict__", "__weakref__"}
)


class _RecordMeta(type):
    """Builds a ``collections.namedtuple`` from a ``class X(NamedTuple):`` body."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, object]) -> type:
        if not bases:  # NamedTuple itself
            return super().__new__(mcs, name, bases, namespace)
        fields = list(namespace.get("__annotations__", {}))  # type: ignore[call-overload]
        defaults = tuple(namespace[field] for field in fields if field in namespace)
        module = namespace.get("__module__")
        make: Any = namedtuple  # called with computed arguments, as typing does
        record: type = make(
            name, fields, defaults=defaults, module=module if isinstance(module, str) else None
        )
        record.__qualname__ = str(namespace.get("__qualname__", name))
        if namespace.get("__doc__"):
            record.__doc__ = namespace["__doc__"]  # type: ignore[assignment]
        for key, value in namespace.items():
            if key not in _NOT_COPIED and key not in fields:
                setattr(record, key, value)
        return record


class NamedTuple(metaclass=_RecordMeta):
    """Base for records: ``class Problem(NamedTuple): key: str; message: str = ""``."""
