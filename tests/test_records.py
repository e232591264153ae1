"""envconf.records: records that behave like ``typing.NamedTuple`` without importing it."""

from __future__ import annotations

import pickle
import typing

import pytest

from envconf.records import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from envconf.records import NamedTuple


class Point(NamedTuple):
    """A record with a default, a method and a property."""

    x: int
    y: int
    label: str = "origin"

    def moved(self, dx: int) -> Point:
        return self._replace(x=self.x + dx)

    @property
    def norm1(self) -> int:
        return abs(self.x) + abs(self.y)


class TypingPoint(typing.NamedTuple):
    x: int
    y: int
    label: str = "origin"


CALLS: list[tuple[tuple[object, ...], dict[str, object]]] = [
    ((1, 2), {}),
    ((1, 2, "a"), {}),
    ((1,), {"y": 2}),
    ((), {"x": 1, "y": 2, "label": "b"}),
    ((), {"y": 2, "x": 1}),
]

BAD_CALLS: list[tuple[tuple[object, ...], dict[str, object]]] = [
    ((), {}),
    ((1,), {}),
    ((1, 2, "a", 4), {}),
    ((1, 2), {"z": 3}),
    ((1, 2), {"x": 3}),
    ((1,), {"label": "a"}),
]


@pytest.mark.parametrize(("args", "kwargs"), CALLS)
def test_construction_matches_typing_namedtuple(
    args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    ours = Point(*args, **kwargs)  # type: ignore[arg-type]
    theirs = TypingPoint(*args, **kwargs)  # type: ignore[arg-type]
    assert tuple(ours) == tuple(theirs)
    assert ours == theirs  # type: ignore[comparison-overlap]
    assert hash(ours) == hash(theirs)
    assert (ours.x, ours.y, ours.label) == (theirs.x, theirs.y, theirs.label)
    assert repr(ours) == repr(theirs).replace("TypingPoint", "Point")
    assert ours._asdict() == theirs._asdict()


@pytest.mark.parametrize(("args", "kwargs"), BAD_CALLS)
def test_bad_construction_fails_as_typing_namedtuple_does(
    args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    with pytest.raises(TypeError):
        TypingPoint(*args, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Point(*args, **kwargs)  # type: ignore[arg-type]


def test_class_level_namedtuple_api() -> None:
    assert Point._fields == ("x", "y", "label")
    assert Point._field_defaults == {"label": "origin"}
    assert Point.__match_args__ == ("x", "y", "label")
    assert Point._make([1, 2, "c"]) == Point(1, 2, "c")
    with pytest.raises(TypeError):
        Point._make([1, 2])
    assert Point.__doc__ == "A record with a default, a method and a property."
    assert Point.__module__ == __name__
    assert Point.__qualname__ == "Point"


def test_methods_properties_and_replace() -> None:
    point = Point(1, -2)
    assert point.moved(3) == Point(4, -2)
    assert point.norm1 == 3
    assert point._replace(label="z") == (1, -2, "z")
    assert type(point._replace(y=0)) is Point
    with pytest.raises(ValueError, match="no field 'w'"):
        point._replace(w=1)  # type: ignore[call-arg]


def test_a_record_is_a_slotted_immutable_tuple() -> None:
    point = Point(1, 2)
    assert isinstance(point, tuple)
    assert not hasattr(point, "__dict__")
    with pytest.raises(AttributeError):
        point.x = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        point.other = 5  # type: ignore[attr-defined]


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickles_by_value(protocol: int) -> None:
    point = Point(1, 2, "p")
    again = pickle.loads(pickle.dumps(point, protocol))
    assert again == point
    assert type(again) is Point


def test_match_statement_binds_fields_by_position() -> None:
    match Point(1, 2):
        case Point(x, y, label):
            assert (x, y, label) == (1, 2, "origin")
        case _:
            pytest.fail("no match")


def test_a_field_without_default_after_one_with_a_default_is_refused() -> None:
    with pytest.raises(TypeError, match="non-default field 'b'"):

        class Bad(NamedTuple):
            a: int = 1
            b: int  # type: ignore[misc]
