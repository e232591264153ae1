"""Fuzz the ``${VAR}`` parser: any text gives a string or one InterpolationError, never a crash.

``tests/test_interpolate_properties.py`` states the grammar's properties at hypothesis'
default budget; this is the long robustness run over hostile text: random Unicode,
the grammar's own pieces, unbalanced and deeply nested braces, values that look like
references (which must come out literally: one pass only).
"""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from envconf.interpolate import InterpolationError, envsubst, interpolate, references

from .budget import fuzz

NAMES = ["A", "B", "HOME", "_x", "a1", "UNSET"]
PIECES = [
    "$", "$$", "${", "}", "{", ":", "-", "+", "?", ":-", ":?", ":+", "-", "\n", " ", "\\",
    "$(id)", "`id`", "${HOME}", "${A:-${B:-${UNSET:?deep}}}", "${ A}", "${A!}", "${}", "$1",
    *NAMES, *(f"${n}" for n in NAMES), *(f"${{{n}}}" for n in NAMES),
]  # fmt: skip
TEXT = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(PIECES) | st.characters(), max_size=80).map("".join),
)
DEEP = st.integers(0, 2000).flatmap(
    lambda n: st.sampled_from(["${A:-", "${UNSET:-", "${A:+", "${UNSET?", "${"]).map(
        lambda opener: opener * n + "x" + "}" * n
    )
)
# Values that look like references: they must never be expanded again.
HOSTILE_VALUES = st.lists(
    st.sampled_from(["${HOME}", "$(id)", "`id`", "$$", "$", "}", "${A:-x}", "$B", "v"]),
    max_size=6,
).map("".join) | st.text(max_size=20)
ENV = st.dictionaries(st.sampled_from([n for n in NAMES if n != "UNSET"]), HOSTILE_VALUES)
FILTERS = st.sampled_from([None, "^A", "B", "^(HOME|_x)$", "", "^$"])


def check_error(text: str, exc: InterpolationError) -> None:
    assert exc.issues
    for issue in exc.issues:
        assert 0 <= issue.offset < len(text) and text[issue.offset] == "$"
    assert str(exc)  # the message can always be built


@fuzz(2000)
@given(text=TEXT | DEEP, env=ENV, allow_unset=st.booleans())
def test_compose_mode_returns_text_or_raises_interpolation_error(
    text: str, env: dict[str, str], allow_unset: bool
) -> None:
    try:
        out = interpolate(text, env.get, allow_unset=allow_unset)
    except InterpolationError as exc:
        check_error(text, exc)
    else:
        assert isinstance(out, str)
        if "$" not in text:
            assert out == text


@fuzz(2000)
@given(text=TEXT | DEEP, env=ENV, pattern=FILTERS, strict=st.booleans())
def test_envsubst_mode_returns_text_or_raises_interpolation_error(
    text: str, env: dict[str, str], pattern: str | None, strict: bool
) -> None:
    name_filter = re.compile(pattern) if pattern is not None else None
    try:
        out = envsubst(text, env.get, name_filter=name_filter, strict=strict)
    except InterpolationError as exc:
        check_error(text, exc)
    else:
        assert isinstance(out, str)
    assert all(name in text for name in references(text))


@fuzz(1500)
@given(
    parts=st.lists(st.sampled_from([n for n in NAMES if n != "UNSET"]), min_size=1, max_size=8),
    env=st.fixed_dictionaries({n: HOSTILE_VALUES for n in NAMES if n != "UNSET"}),
    braced=st.booleans(),
)
def test_a_substituted_value_is_never_expanded_again(
    parts: list[str], env: dict[str, str], braced: bool
) -> None:
    text = "".join(f"${{{p}}}" if braced else f"${p}|" for p in parts)
    expected = "".join(env[p] if braced else env[p] + "|" for p in parts)
    assert interpolate(text, env.get) == expected
    assert envsubst(text, env.get) == expected
