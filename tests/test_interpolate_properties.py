"""Property tests for envconf.interpolate (hypothesis, default budgets)."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envconf.interpolate import InterpolationError, envsubst, interpolate, references

NAMES = ["A", "B", "AB", "_x", "a1", "PORT"]
_OPERATOR_FORM = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?[-+?]")

# Text built from the pieces that matter to the grammar, so references, operators, escapes
# and malformed forms show up often, mixed with arbitrary characters.
GRAMMAR_PIECES = ["$", "$$", "{", "}", "${", ":", "-", "+", "?", " ", "\n", "x", "é"]
REFERENCE_PIECES = ["$A", "${A}", "${B:-", "${AB:?", "${_x+", "${a1-", "${ ", "$1"]
PIECES = st.one_of(
    st.sampled_from([*GRAMMAR_PIECES, *NAMES, *REFERENCE_PIECES]),
    st.characters(codec="utf-8"),
)
TEMPLATES = st.lists(PIECES, max_size=30).map("".join)
TEMPLATES_WITHOUT_OPERATORS = TEMPLATES.filter(lambda t: not _OPERATOR_FORM.search(t))
NO_DOLLAR = st.text(st.characters(codec="utf-8", exclude_characters="$"))
# Values that look like templates, to catch any second expansion.
VALUES = st.lists(
    st.sampled_from(["$", "${A}", "$B", "$$", "${A:-x}", "}", "v", ""]), max_size=5
).map("".join) | st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8)
ENVS = st.dictionaries(st.sampled_from(NAMES), VALUES)
FILTERS = st.sampled_from([None, "^A", "B", "^(PORT|_x)$", "^$"])


@given(text=NO_DOLLAR, env=ENVS)
def test_text_without_dollar_is_returned_unchanged_by_both_modes(
    text: str, env: dict[str, str]
) -> None:
    assert interpolate(text, env.get) == text
    assert envsubst(text, env.get, strict=True) == text


@given(
    parts=st.lists(
        st.one_of(
            st.sampled_from(NAMES).map(lambda n: ("ref", n)), NO_DOLLAR.map(lambda t: ("", t))
        )
    ),
    values=st.fixed_dictionaries(dict.fromkeys(NAMES, VALUES)),
    braced=st.booleans(),
)
def test_substituted_values_are_never_expanded_again(
    parts: list[tuple[str, str]], values: dict[str, str], braced: bool
) -> None:
    # A bare "$NAME" is followed by a space so the next piece cannot lengthen the name.
    template = "".join(
        (f"${{{t}}}" if braced else f"${t} ") if kind == "ref" else t for kind, t in parts
    )
    expected = "".join(
        (values[t] if braced else f"{values[t]} ") if kind == "ref" else t for kind, t in parts
    )
    assert interpolate(template, values.get) == expected
    assert envsubst(template, values.get) == expected


@given(text=TEMPLATES_WITHOUT_OPERATORS)
def test_envsubst_with_empty_environment_returns_input_unchanged(text: str) -> None:
    # Operator forms are excluded: "${A:-x}" is meant to give "x" with nothing set.
    empty: dict[str, str] = {}
    assert envsubst(text, empty.get) == text


@given(text=st.text(st.characters(codec="utf-8")), env=ENVS)
def test_dollar_escaped_compose_text_round_trips(text: str, env: dict[str, str]) -> None:
    assert interpolate(text.replace("$", "$$"), env.get) == text


@given(
    text=TEMPLATES,
    env=ENVS,
    allow_unset=st.booleans(),
    strict=st.booleans(),
    name_filter=FILTERS,
)
def test_parser_raises_only_interpolation_error_pointing_at_dollars(
    text: str, env: dict[str, str], allow_unset: bool, strict: bool, name_filter: str | None
) -> None:
    pattern = None if name_filter is None else re.compile(name_filter)
    runs: list[Callable[[], str]] = [
        lambda: interpolate(text, env.get, allow_unset=allow_unset),
        lambda: envsubst(text, env.get, name_filter=pattern, strict=strict),
    ]
    for run in runs:
        try:
            run()
        except InterpolationError as error:
            assert error.issues
            assert all(text[issue.offset] == "$" for issue in error.issues)
            assert [i.offset for i in error.issues] == sorted(i.offset for i in error.issues)


@given(text=TEMPLATES, env=ENVS)
def test_references_lists_every_name_either_mode_looks_up(text: str, env: dict[str, str]) -> None:
    looked_up: set[str] = set()

    def lookup(name: str) -> str | None:
        looked_up.add(name)
        return env.get(name)

    runs: list[Callable[[], str]] = [
        lambda: interpolate(text, lookup),
        lambda: envsubst(text, lookup, strict=True),
    ]
    for run in runs:
        with contextlib.suppress(InterpolationError):
            run()
    assert looked_up <= references(text)


GNU_ENVSUBST = shutil.which("envsubst", path="/usr/bin")


@pytest.mark.skipif(GNU_ENVSUBST is None, reason="GNU envsubst (gettext-base) is not installed")
@settings(max_examples=100, deadline=None)
@given(text=TEMPLATES_WITHOUT_OPERATORS, env=ENVS, name_filter=FILTERS)
def test_envsubst_matches_gnu_envsubst_on_arbitrary_text(
    text: str, env: dict[str, str], name_filter: str | None
) -> None:
    assert GNU_ENVSUBST is not None
    # The nginx image's 20-envsubst-on-templates.sh: printf '${%s} ' over the filtered names.
    names = [n for n in env if name_filter is None or re.search(name_filter, n)]
    shell_format = "".join(f"${{{n}}} " for n in names) or "${} "
    gnu = subprocess.run(
        [GNU_ENVSUBST, shell_format],
        input=text.encode(),
        env=env,
        capture_output=True,
        check=True,
    ).stdout.decode()
    pattern = None if name_filter is None else re.compile(name_filter)
    assert envsubst(text, env.get, name_filter=pattern) == gnu
