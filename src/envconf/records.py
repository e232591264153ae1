"""``NamedTuple`` records for the modules on the container-start path, without ``typing``.

``envconf render`` runs at every container start. Importing :mod:`typing` costs about
3.5 ms there, and even :func:`collections.namedtuple` costs ~1 ms to import plus ~0.2 ms
per class (it compiles each class's ``__new__`` with ``eval``). Modules on that path
declare records exactly as with ``typing.NamedTuple``; type checkers see
``typing.NamedTuple``, and at run time this module turns the class body into a tuple
subclass with the same behaviour (fields from the annotations, trailing defaults, methods
and properties copied over, ``_fields``, ``_field_defaults``, ``_replace``, ``_asdict``,
``_make``, ``__match_args__``, pickling)::

    from envconf.records import TYPE_CHECKING

    if TYPE_CHECKING:
        from typing import NamedTuple
    else:
        from envconf.records import NamedTuple

Those modules also write ``TYPE_CHECKING`` from here instead of from ``typing``.
"""

from __future__ import annotations

# The C module behind ``operator`` (always built in): ``operator`` itself is Python code
# that the container-start path would import for this one function.
from _operator import itemgetter

#: ``False`` at run time; type checkers treat the name as true, as ``typing.TYPE_CHECKING``.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any, ClassVar

    from typing_extensions import Self

# What a class body holds that is not a field, a method or a property of the record.
_NOT_COPIED = frozenset({"__annotations__", "__dict__", "__weakref__", "__orig_bases__"})


class _Record(tuple):  # type: ignore[type-arg]
    """What every record class shares: construction by name, the namedtuple helpers."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _field_defaults: ClassVar[dict[str, Any]] = {}

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        fields = cls._fields
        if not kwargs and len(args) == len(fields):
            return tuple.__new__(cls, args)
        if len(args) > len(fields):
            raise TypeError(
                f"{cls.__name__}() takes {len(fields)} arguments but {len(args)} were given"
            )
        values = list(args)
        defaults = cls._field_defaults
        for field in fields[len(args) :]:
            if field in kwargs:
                values.append(kwargs.pop(field))
            elif field in defaults:
                values.append(defaults[field])
            else:
                raise TypeError(f"{cls.__name__}() missing required argument: {field!r}")
        if kwargs:  # an unknown name, or one already given by position
            name = next(iter(kwargs))
            raise TypeError(f"{cls.__name__}() got an unexpected or repeated argument {name!r}")
        return tuple.__new__(cls, values)

    @classmethod
    def _make(cls, iterable: Iterable[Any]) -> Self:
        """A record from an iterable of every field's value, in order."""
        values = tuple(iterable)
        if len(values) != len(cls._fields):
            raise TypeError(f"{cls.__name__} expects {len(cls._fields)} values, got {len(values)}")
        return tuple.__new__(cls, values)

    def _replace(self, **changes: Any) -> Self:
        """A copy with the named fields changed."""
        values = [changes.pop(name, value) for name, value in zip(self._fields, self, strict=True)]
        if changes:
            raise ValueError(f"{type(self).__name__} has no field {next(iter(changes))!r}")
        return tuple.__new__(type(self), values)

    def _asdict(self) -> dict[str, Any]:
        """The fields as a dict, in order."""
        return dict(zip(self._fields, self, strict=True))

    def __getnewargs__(self) -> tuple[Any, ...]:
        return tuple(self)

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={value!r}" for name, value in zip(self._fields, self, strict=True)
        )
        return f"{type(self).__name__}({shown})"


class _RecordMeta(type):
    """Builds a record class from a ``class X(NamedTuple):`` body."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> type:
        if not bases:  # NamedTuple itself
            return super().__new__(mcs, name, bases, namespace)
        fields = tuple(namespace.get("__annotations__", {}))
        defaults = {field: namespace[field] for field in fields if field in namespace}
        for index in range(1, len(fields)):
            before, after = fields[index - 1], fields[index]
            if before in defaults and after not in defaults:
                raise TypeError(
                    f"non-default field {after!r} cannot follow default field {before!r}"
                )
        body = {
            key: value
            for key, value in namespace.items()
            if key not in _NOT_COPIED and key not in defaults
        }
        body.update(__slots__=(), _fields=fields, _field_defaults=defaults, __match_args__=fields)
        for index, field in enumerate(fields):
            body[field] = property(itemgetter(index), doc=f"Field {index}: {field}.")
        return type(name, (_Record,), body)


class NamedTuple(metaclass=_RecordMeta):
    """Base for records: ``class Problem(NamedTuple): key: str; message: str = ""``."""
