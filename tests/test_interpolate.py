"""Tests for envconf.interpolate: Compose mode, envsubst mode, and GNU envsubst conformance.

The Compose vectors follow the interpolation section of the Compose specification and the
behaviour of compose-go's ``template`` package; the envsubst vectors follow GNU envsubst as
the official nginx image's ``20-envsubst-on-templates.sh`` calls it.
"""

from __future__ import annotations

import ast
import contextlib
import gc
import itertools
import pickle
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

import envconf.interpolate as interpolate_module
from envconf.interpolate import (
    InterpolationError,
    InterpolationIssue,
    envsubst,
    interpolate,
    line_of,
    references,
)

ENV: dict[str, str] = {
    "FOO": "first",
    "BAR": "",  # set but empty
    "_U1": "under",
    "DOLLAR": "${FOO}$(id)$$",  # a value that looks like a template
}


def compose(text: str, env: Mapping[str, str] = ENV, **kwargs: bool) -> str:
    return interpolate(text, env.get, **kwargs)


def compose_issues(text: str, env: Mapping[str, str] = ENV) -> list[tuple[str, str, int]]:
    with pytest.raises(InterpolationError) as caught:
        interpolate(text, env.get)
    return [(i.variable, i.message, i.offset) for i in caught.value.issues]


# -- Compose mode: values -------------------------------------------------------------------

COMPOSE_VECTORS = [
    # plain references
    ("no references", "no references"),
    ("$FOO", "first"),
    ("${FOO}", "first"),
    ("${_U1}", "under"),
    ("$FOO-bar", "first-bar"),  # docker/compose#8601: "-" ends a bare name
    ("${FOO}bar", "firstbar"),
    ("[$BAR] [${BAR}]", "[] []"),
    ("a: ${FOO}\nb: $FOO\n", "a: first\nb: first\n"),
    ("ünï ${FOO} ✓", "ünï first ✓"),
    # names are ASCII: "é" and "٣" (an Arabic-Indic digit) end a name, as str.isalnum() would not
    ("$FOOé $FOO٣ $é", "firsté first٣ $é"),
    # "$$" escapes
    ("$$", "$"),
    ("$$FOO", "$FOO"),
    ("$${FOO}", "${FOO}"),
    ("$$$FOO", "$first"),
    ("$$$$", "$$"),
    # a "$" that starts no reference is text
    ("$(id)", "$(id)"),
    ("cost: $ 5", "cost: $ 5"),
    ("trailing $", "trailing $"),
    ("$}", "$}"),
    ("$1 $-x $.", "$1 $-x $."),
    # ":-" default when unset or empty; "-" only when unset
    ("${FOO:-def}", "first"),
    ("${BAR:-def}", "def"),
    ("${UNSET:-def}", "def"),
    ("${FOO-def}", "first"),
    ("${BAR-def}", ""),
    ("${UNSET-def}", "def"),
    ("${UNSET:-}", ""),
    ("${UNSET-}", ""),
    # ":+" alternative when set and non-empty; "+" when set
    ("${FOO:+alt}", "alt"),
    ("${BAR:+alt}", ""),
    ("${UNSET:+alt}", ""),
    ("${FOO+alt}", "alt"),
    ("${BAR+alt}", "alt"),
    ("${UNSET+alt}", ""),
    # ":?" / "?" pass the value through when it is acceptable
    ("${FOO:?err}", "first"),
    ("${FOO?err}", "first"),
    ("${BAR?err}", ""),
    # the first operator after the name wins; the rest of the word is text
    ("${BAR:-/non:-alphanumeric}", "/non:-alphanumeric"),
    ("${UNSET-myerror?msg}", "myerror?msg"),
    ("${UNSET:-a:b-c+d?e}", "a:b-c+d?e"),
    ("${FOO?bar-baz}", "first"),
    # nested references in defaults, balanced braces
    ("${UNSET:-${FOO}}", "first"),
    ("${UNSET-$FOO}", "first"),
    ("${UNSET-${FOO} ${FOO}}", "first first"),
    ("${UNSET:-${ALSO_UNSET:-x}}", "x"),
    ("${BAR:-a${UNSET:-b${FOO}c}d}", "abfirstcd"),
    ("${FOO:+[${FOO}]}", "[first]"),
    ("${UNSET:-$$FOO}", "$FOO"),
    ("${UNSET:-line1\nline2}", "line1\nline2"),
    ("${UNSET:-x} and ${FOO}", "x and first"),
    # braces in a word nest, as compose-go pairs them (bash would give "{xy}")
    ("${UNSET:-{x}y}", "{x}y"),
    ("${UNSET:-$${x}}", "${x}"),
    # defaults are expanded only when used
    ("${FOO:-${UNSET}}", "first"),
    ("${FOO:-${UNSET:?boom}}", "first"),
    ("${UNSET:+${UNSET2:?boom}}", ""),
    # single pass: a value is never expanded again
    ("$DOLLAR", "${FOO}$(id)$$"),
    ("${UNSET:-$DOLLAR}", "${FOO}$(id)$$"),
]


@pytest.mark.parametrize(("text", "expected"), COMPOSE_VECTORS)
def test_compose_vector(text: str, expected: str) -> None:
    assert compose(text) == expected


# -- Compose mode: issues -------------------------------------------------------------------

NOTHING: dict[str, str] = {}
NOT_SET = "required variable {} is not set"

COMPOSE_ERROR_VECTORS = [
    ("${UNSET}", [("UNSET", NOT_SET.format("UNSET"), 0)]),
    ("x: $UNSET", [("UNSET", NOT_SET.format("UNSET"), 3)]),
    ("$FOObar", [("FOObar", NOT_SET.format("FOObar"), 0)]),  # longest name
    ("$foo", [("foo", NOT_SET.format("foo"), 0)]),  # names are case-sensitive
    # ":?" errors when unset or empty, "?" only when unset; the message is the user's
    ("${UNSET:?boom}", [("UNSET", "required variable UNSET is not set: boom", 0)]),
    ("${BAR:?boom}", [("BAR", "required variable BAR is empty: boom", 0)]),
    ("${UNSET?boom}", [("UNSET", "required variable UNSET is not set: boom", 0)]),
    ("${UNSET?bar-baz}", [("UNSET", "required variable UNSET is not set: bar-baz", 0)]),
    ("${UNSET:?need ${FOO}}", [("UNSET", "required variable UNSET is not set: need first", 0)]),
    ("${UNSET:?}", [("UNSET", NOT_SET.format("UNSET"), 0)]),
    ("${UNSET?}", [("UNSET", NOT_SET.format("UNSET"), 0)]),
    ("${BAR:?}", [("BAR", "required variable BAR is empty", 0)]),
    # malformed references
    ("${ foo}", [("", "invalid interpolation format '${ foo}'", 0)]),
    ("${foo }", [("", "invalid interpolation format '${foo }'", 0)]),
    ("${foo!}", [("", "invalid interpolation format '${foo!}'", 0)]),
    ("${}", [("", "invalid interpolation format '${}'", 0)]),
    ("${ }", [("", "invalid interpolation format '${ }'", 0)]),
    ("${foo:}", [("", "invalid interpolation format '${foo:}'", 0)]),
    ("${foo:x}", [("", "invalid interpolation format '${foo:x}'", 0)]),
    ("${-x}", [("", "invalid interpolation format '${-x}'", 0)]),
    ("${1}", [("", "invalid interpolation format '${1}'", 0)]),
    ("${é}", [("", "invalid interpolation format '${é}'", 0)]),
    ("${FOO٣}", [("", "invalid interpolation format '${FOO٣}'", 0)]),
    ("${", [("", "invalid interpolation format '${'", 0)]),
    # unterminated: the rest of the line is quoted
    ("${foo", [("", "invalid interpolation format '${foo'", 0)]),
    ("a ${FOO:-x\nb", [("", "invalid interpolation format '${FOO:-x'", 2)]),
    ("${FOO:-${BAR}", [("", "invalid interpolation format '${FOO:-${BAR}'", 0)]),
    # a malformed reference inside a default, used or not, is reported where it starts
    ("${UNSET:-${ x}}", [("", "invalid interpolation format '${ x}'", 9)]),
    ("${FOO:-${ x}}", [("", "invalid interpolation format '${ x}'", 7)]),
    # issues inside a used word come with the outer one, sorted by offset
    (
        "${UNSET:?missing ${ALSO}}",
        [
            ("UNSET", "required variable UNSET is not set: missing ", 0),
            ("ALSO", NOT_SET.format("ALSO"), 17),
        ],
    ),
]


@pytest.mark.parametrize(("text", "expected"), COMPOSE_ERROR_VECTORS)
def test_compose_error_vector(text: str, expected: list[tuple[str, str, int]]) -> None:
    assert compose_issues(text) == expected


def test_compose_reports_every_issue_at_once_with_offsets_and_lines() -> None:
    text = "a: ${A}\nb: fine $FOO\nc: ${ bad}\nd: ${C:?set C please}\ne: $E\n"
    with pytest.raises(InterpolationError) as caught:
        interpolate(text, ENV.get)
    issues = caught.value.issues
    assert [(i.variable, line_of(text, i.offset)) for i in issues] == [
        ("A", 1),
        ("", 3),
        ("C", 4),
        ("E", 5),
    ]
    assert [text[i.offset : i.offset + 2] for i in issues] == ["${", "${", "${", "$E"]
    assert issues[2].message == "required variable C is not set: set C please"


def test_compose_scanning_resumes_after_a_malformed_reference() -> None:
    assert compose_issues("${ a} ${UNSET} ${b!} $$ ${FOO}") == [
        ("", "invalid interpolation format '${ a}'", 0),
        ("UNSET", NOT_SET.format("UNSET"), 6),
        ("", "invalid interpolation format '${b!}'", 15),
    ]


def test_an_unterminated_reference_leaves_later_ones_paired() -> None:
    # Once a "${" runs off the end, every brace is paired at once; the later operator forms
    # must still find their own "}" (they were all taken as unterminated before).
    text = "${A:-x\n${FOO:-y} ${UNSET:-{z}}"
    assert compose_issues(text) == [("", "invalid interpolation format '${A:-x'", 0)]
    assert envsubst(text, ENV.get) == "${A:-x\nfirst {z}"
    assert envsubst("${UNSET:-{z}}${A:-x", ENV.get) == "{z}${A:-x"


def test_compose_long_malformed_reference_is_shortened_in_the_message() -> None:
    (issue,) = compose_issues("${ " + "x" * 200 + "}")
    assert issue[1].startswith("invalid interpolation format '${ xxx")
    assert issue[1].endswith("...'")
    assert len(issue[1]) < 100


def test_compose_allow_unset_gives_empty_string_like_compose() -> None:
    assert compose("[${UNSET}] [$UNSET] [${UNSET:-d}]", allow_unset=True) == "[] [] [d]"


def test_compose_allow_unset_still_reports_required_and_malformed() -> None:
    with pytest.raises(InterpolationError) as caught:
        interpolate("${UNSET:?needed} ${ bad}", ENV.get, allow_unset=True)
    assert [i.message for i in caught.value.issues] == [
        "required variable UNSET is not set: needed",
        "invalid interpolation format '${ bad}'",
    ]


def test_compose_looks_up_only_what_it_uses() -> None:
    calls: list[str] = []

    def lookup(name: str) -> str | None:
        calls.append(name)
        return ENV.get(name)

    interpolate("${FOO:-$SKIPPED} ${UNSET:-$USED_DEFAULT} $$ESCAPED", lookup, allow_unset=True)
    assert calls == ["FOO", "UNSET", "USED_DEFAULT"]


def test_compose_nesting_has_a_limit_instead_of_a_recursion_error() -> None:
    text = "${A:-" * 500 + "x" + "}" * 500
    with pytest.raises(InterpolationError) as caught:
        interpolate(text, NOTHING.get)
    assert [i.message for i in caught.value.issues] == ["interpolation is nested too deeply"]
    assert interpolate("${A:-" * 20 + "x" + "}" * 20, NOTHING.get) == "x"


# -- compose-go's template_test.go, every vector, in both engines ---------------------------
#
# The vectors of compose-go's own template/template_test.go (read in its current form), with
# its mapping. Each row is (template, Compose-mode result, envsubst-mode result): the two
# engines differ only where the envsubst engine follows GNU envsubst (an unset variable
# stays as written, "$$" is not an escape, malformed text is copied). Compose mode is run
# with allow_unset, as Compose itself substitutes "" (and warns) for an unset variable.

GO_ENV: dict[str, str] = {"FOO": "first", "BAR": "", "JSON": '{"json":2}'}

COMPOSE_GO_VALUES = [
    # TestEscaped, TestSubstituteNoMatch, TestNonBraced
    ("$${foo}", "${foo}", "$${foo}"),
    ("foo", "foo", "foo"),
    ("$FOO-bar", "first-bar", "first-bar"),
    # TestUnescaped
    ("a $ string", "a $ string", "a $ string"),
    ("^REGEX$", "^REGEX$", "^REGEX$"),
    ("$}", "$}", "$}"),
    ("$", "$", "$"),
    # TestNoValueNoDefault, TestValueNoDefault
    ("This ${missing} var", "This  var", "This ${missing} var"),
    ("This ${BAR} var", "This  var", "This  var"),
    ("This $FOO var", "This first var", "This first var"),
    ("This ${FOO} var", "This first var", "This first var"),
    # TestNoValueWithDefault, soft and hard defaults
    ("ok ${missing:-def}", "ok def", "ok def"),
    ("ok ${missing-def}", "ok def", "ok def"),
    ("ok ${BAR:-def}", "ok def", "ok def"),
    ("ok ${FOO:-def}", "ok first", "ok first"),
    ("ok ${BAR-def}", "ok ", "ok "),
    # TestPresentValue*
    ("ok ${UNSET_VAR:+presence_value}", "ok ", "ok "),
    ("ok ${UNSET_VAR+presence_value}", "ok ", "ok "),
    ("ok ${FOO:+presence_value}", "ok presence_value", "ok presence_value"),
    ("ok ${FOO+presence_value}", "ok presence_value", "ok presence_value"),
    ("ok ${BAR+presence_value}", "ok presence_value", "ok presence_value"),
    ("ok ${BAR:+presence_value}", "ok ", "ok "),
    # TestNonAlphanumericDefault
    ("ok ${BAR:-/non:-alphanumeric}", "ok /non:-alphanumeric", "ok /non:-alphanumeric"),
    # TestInterpolationExternalInterference
    ("-ok ${BAR:-defaultValue}", "-ok defaultValue", "-ok defaultValue"),
    ("+ok ${UNSET:-${BAR-defaultValue}}", "+ok ", "+ok "),
    ("-ok ${FOO:-defaultValue}", "-ok first", "-ok first"),
    (":-ok ${UNSET-defaultValue}", ":-ok defaultValue", ":-ok defaultValue"),
    (":-ok ${BAR-defaultValue}", ":-ok ", ":-ok "),
    (":?ok ${BAR-defaultValue}", ":?ok ", ":?ok "),
    (":?ok ${BAR:-defaultValue}", ":?ok defaultValue", ":?ok defaultValue"),
    (":+ok ${BAR:-defaultValue}", ":+ok defaultValue", ":+ok defaultValue"),
    ("+ok ${BAR-defaultValue}", "+ok ", "+ok "),
    ("?ok ${BAR:-defaultValue}", "?ok defaultValue", "?ok defaultValue"),
    # TestDefaultsWithNestedExpansion
    ("ok ${UNSET_VAR-$FOO}", "ok first", "ok first"),
    ("ok ${UNSET_VAR-${FOO}}", "ok first", "ok first"),
    ("ok ${UNSET_VAR-${FOO} ${FOO}}", "ok first first", "ok first first"),
    ("ok ${BAR:-$FOO}", "ok first", "ok first"),
    ("ok ${BAR:-${FOO}}", "ok first", "ok first"),
    ("ok ${BAR:-${FOO} ${FOO}}", "ok first first", "ok first first"),
    ("ok ${BAR+$FOO}", "ok first", "ok first"),
    ("ok ${BAR+$FOO ${FOO:+second}}", "ok first second", "ok first second"),
    # TestDefaultsForMandatoryVariables
    ("ok ${FOO:?err}", "ok first", "ok first"),
    ("ok ${FOO?err}", "ok first", "ok first"),
    ("ok ${BAR?err}", "ok ", "ok "),
    # TestPrecedence (the values)
    ("${UNSET_VAR-myerror?msg}", "myerror?msg", "myerror?msg"),
    ("${FOO?bar-baz}", "first", "first"),
    (
        "${BAR:-default_value_for_empty_var}",
        "default_value_for_empty_var",
        "default_value_for_empty_var",
    ),
    (
        "${UNSET_VAR-default_value_for_unset_var}",
        "default_value_for_unset_var",
        "default_value_for_unset_var",
    ),
    # TestSubstitutionFunctionChoice: the first operator after the name is the operator
    ("${UNSET:-value}", "value", "value"),
    ("${UNSET-va:-lu:?e}", "va:-lu:?e", "va:-lu:?e"),
    ("${UNSET-va+lu?e}", "va+lu?e", "va+lu?e"),
    ("${UNSET-va?lu+e}", "va?lu+e", "va?lu+e"),
    ("${FOO:+va:?lu:-e}", "va:?lu:-e", "va:?lu:-e"),
    ("${FOO+va:+lue}", "va:+lue", "va:+lue"),
    ("${FOO+va?lu-e}", "va?lu-e", "va?lu-e"),
    ("${FOO+va-lu?e}", "va-lu?e", "va-lu?e"),
    # TestNoValueWithCurlyBracesDefault, TestValueWithCurlyBracesDefault
    ('ok ${missing:-{"json":1}}', 'ok {"json":1}', 'ok {"json":1}'),
    ('ok ${missing-{"json":1}}', 'ok {"json":1}', 'ok {"json":1}'),
    ('ok ${JSON:-{"json":1}}', 'ok {"json":2}', 'ok {"json":2}'),
    ('ok ${JSON-{"json":1}}', 'ok {"json":2}', 'ok {"json":2}'),
]


@pytest.mark.parametrize(("text", "composed", "substituted"), COMPOSE_GO_VALUES)
def test_compose_go_vector_in_both_engines(text: str, composed: str, substituted: str) -> None:
    assert interpolate(text, GO_ENV.get, allow_unset=True) == composed
    assert envsubst(text, GO_ENV.get) == substituted


# (template, variable, the user's reason): compose-go says "required variable V is missing a
# value: reason"; envconf says whether it is unset or empty, then the same reason.
COMPOSE_GO_REQUIRED = [
    ("not ok ${UNSET_VAR:?Mandatory Variable Unset}", "UNSET_VAR", "Mandatory Variable Unset"),
    ("not ok ${BAR:?Mandatory Variable Empty}", "BAR", "Mandatory Variable Empty"),
    ("not ok ${UNSET_VAR:?}", "UNSET_VAR", ""),
    ("not ok ${UNSET_VAR?Mandatory Variable Unset}", "UNSET_VAR", "Mandatory Variable Unset"),
    ("not ok ${UNSET_VAR?}", "UNSET_VAR", ""),
    ("not ok ${UNSET_VAR:?Mandatory Variable ${FOO}}", "UNSET_VAR", "Mandatory Variable first"),
    ("not ok ${UNSET_VAR?Mandatory Variable ${FOO}}", "UNSET_VAR", "Mandatory Variable first"),
    ("${UNSET_VAR?bar-baz}", "UNSET_VAR", "bar-baz"),
    ("${UNSET_VAR:?val?ue}", "UNSET_VAR", "val?ue"),
    ("${UNSET_VAR?val:?ue}", "UNSET_VAR", "val:?ue"),
    ("${UNSET_VAR?va-lu+e:?e}", "UNSET_VAR", "va-lu+e:?e"),
]


@pytest.mark.parametrize(("text", "name", "reason"), COMPOSE_GO_REQUIRED)
@pytest.mark.parametrize("engine", ["compose", "envsubst"])
def test_compose_go_required_vector_in_both_engines(
    engine: str, text: str, name: str, reason: str
) -> None:
    with pytest.raises(InterpolationError) as caught:
        if engine == "compose":
            interpolate(text, GO_ENV.get, allow_unset=True)
        else:
            envsubst(text, GO_ENV.get)
    (issue,) = caught.value.issues
    state = "is empty" if name in GO_ENV else "is not set"
    assert issue.variable == name
    assert issue.message == f"required variable {name} {state}" + (f": {reason}" if reason else "")


@pytest.mark.parametrize("text", ["${", "${}", "${ }", "${ foo}", "${foo }", "${foo!}"])
def test_compose_go_invalid_vector_in_both_engines(text: str) -> None:
    """compose-go's TestInvalid: an error in Compose mode, text as GNU envsubst leaves it."""
    with pytest.raises(InterpolationError, match="invalid interpolation format"):
        interpolate(text, GO_ENV.get, allow_unset=True)
    assert envsubst(text, GO_ENV.get) == text


# -- envsubst mode --------------------------------------------------------------------------

NGINX_ENV: dict[str, str] = {
    "PORT": "8080",
    "EMPTY": "",
    "VAL": "$host ${PORT}",  # a value that looks like a template
}

ENVSUBST_VECTORS = [
    # only defined variables are replaced; nginx's own variables survive
    ("listen ${PORT};", "listen 8080;"),
    ("listen $PORT;", "listen 8080;"),
    ("proxy_set_header Host $host;", "proxy_set_header Host $host;"),
    ("try_files $uri $uri/ =404;", "try_files $uri $uri/ =404;"),
    ("${host}", "${host}"),
    ("[${EMPTY}] [$EMPTY]", "[] []"),
    # "$$" is not an escape
    ("$$PORT", "$8080"),
    ("$${PORT}", "$8080"),
    ("$$", "$$"),
    # what is not a valid reference is copied as is
    ("${ PORT}", "${ PORT}"),
    ("${PORT", "${PORT"),
    ("${PORT }", "${PORT }"),
    ("${PORT:x}", "${PORT:x}"),
    ("${}", "${}"),
    ("$1 $( $", "$1 $( $"),
    # names are the longest run of name characters; scanning resumes after a name
    ("$PORTS", "$PORTS"),
    ("$PORTé ${PORT٣} ${é} ${PORT٣:-x}", "8080é ${PORT٣} ${é} ${PORT٣:-x}"),
    ("${PORT}S", "8080S"),
    ("${A$PORT}", "${A8080}"),
    ("${$PORT}", "${8080}"),
    # a value is never expanded again
    ("$VAL", "$host ${PORT}"),
    # Compose operators, beyond nginx
    ("${UNSET:-80}", "80"),
    ("${PORT:-80}", "8080"),
    ("${EMPTY:-x}", "x"),
    ("${EMPTY-x}", ""),
    ("${UNSET-x}", "x"),
    ("${PORT:+on}", "on"),
    ("${EMPTY:+on}", ""),
    ("${EMPTY+on}", "on"),
    ("${UNSET+on}", ""),
    ("${PORT:?need}", "8080"),
    ("${UNSET:-$host}", "$host"),
    ("${UNSET:-${PORT}}", "8080"),
    ("${UNSET:-${NOPE:-deep}}", "deep"),
    ("${UNSET:-$VAL}", "$host ${PORT}"),
    ("${PORT:-${UNSET:?unused}}", "8080"),
    # an operator form that is not closed is text
    ("${PORT:-80", "${PORT:-80"),
]


@pytest.mark.parametrize(("text", "expected"), ENVSUBST_VECTORS)
def test_envsubst_vector(text: str, expected: str) -> None:
    assert envsubst(text, NGINX_ENV.get) == expected


FILTER_VECTORS = [
    ("^P", "${PORT} ${EMPTY} $EMPTY", "8080 ${EMPTY} $EMPTY"),
    ("^P", "${EMPTY:-x}", "${EMPTY:-x}"),  # rejected: untouched with its operator
    ("^P", "${EMPTY:-$PORT}", "${EMPTY:-8080}"),  # ...and rescanned, as GNU envsubst does
    ("^P", "${PX:-d}", "d"),  # accepted names still get the operators
    ("ORT", "$PORT", "8080"),  # unanchored search
    ("^PORT$", "$PORT $PORTS", "8080 $PORTS"),
    ("^$", "$PORT ${PORT:-x}", "$PORT ${PORT:-x}"),
]


@pytest.mark.parametrize(("pattern", "text", "expected"), FILTER_VECTORS)
def test_envsubst_filter_vector(pattern: str, text: str, expected: str) -> None:
    assert envsubst(text, NGINX_ENV.get, name_filter=re.compile(pattern)) == expected


def test_envsubst_required_operator_is_an_issue_even_without_strict() -> None:
    with pytest.raises(InterpolationError) as caught:
        envsubst("a ${UNSET:?set UNSET} ${EMPTY:?} ${EMPTY?fine}", NGINX_ENV.get)
    assert caught.value.issues == [
        InterpolationIssue("UNSET", "required variable UNSET is not set: set UNSET", 2),
        InterpolationIssue("EMPTY", "required variable EMPTY is empty", 22),
    ]


def test_envsubst_strict_reports_undefined_braced_references_only() -> None:
    text = "listen ${PORT};\nhost $host;\nname ${SERVER_NAME};\n${EMPTY}${UNSET:-d}\n${ALSO}"
    with pytest.raises(InterpolationError) as caught:
        envsubst(text, NGINX_ENV.get, strict=True)
    issues = caught.value.issues
    assert [(i.variable, line_of(text, i.offset)) for i in issues] == [
        ("SERVER_NAME", 3),
        ("ALSO", 5),
    ]
    assert issues[0].message == "required variable SERVER_NAME is not set"


def test_envsubst_strict_ignores_names_the_filter_rejects() -> None:
    text = "${PORT} ${nginx_var}"
    assert envsubst(text, NGINX_ENV.get, name_filter=re.compile("^[A-Z]"), strict=True) == (
        "8080 ${nginx_var}"
    )


def test_envsubst_strict_without_issues_expands_normally() -> None:
    assert envsubst("$host ${PORT}", NGINX_ENV.get, strict=True) == "$host 8080"


# -- helpers --------------------------------------------------------------------------------


def test_references_lists_names_in_either_mode() -> None:
    text = "${A:-${B}} $C $$D ${E:?x} ${ F} ${G!} $1 plain"
    assert references(text) == {"A", "B", "C", "D", "E", "G"}
    assert references("no dollar") == set()


@pytest.mark.parametrize(
    ("offset", "line"), [(0, 1), (1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (-1, 1)]
)
def test_line_of_is_one_based(offset: int, line: int) -> None:
    assert line_of("a\nb\nc", offset) == line


def test_error_message_names_every_issue() -> None:
    with pytest.raises(InterpolationError) as caught:
        interpolate("${A:?set A} ${B} ${ c}", NOTHING.get)
    assert str(caught.value) == (
        "required variable A is not set: set A; required variable B is not set;"
        " invalid interpolation format '${ c}'"
    )


def test_error_survives_pickling() -> None:
    with pytest.raises(InterpolationError) as caught:
        interpolate("${A}", NOTHING.get)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert copy.issues == caught.value.issues


def _run_time_imports(node: ast.AST) -> set[str]:
    """Every module ``node`` imports, except under ``if TYPE_CHECKING:`` (never run)."""
    if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
        return set().union(*map(_run_time_imports, node.orelse))
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    if isinstance(node, ast.ImportFrom):
        return {node.module or ""}
    return set().union(*map(_run_time_imports, ast.iter_child_nodes(node)))


def test_module_imports_only_records_at_run_time() -> None:
    # It runs at every container start: not even re, typing or collections.abc (issue 16);
    # what only annotations use is imported under TYPE_CHECKING.
    tree = ast.parse(Path(interpolate_module.__file__).read_text(encoding="utf-8"))
    assert _run_time_imports(tree) == {"__future__", "envconf.records"}


# Modules that would cost milliseconds at every container start.
HEAVY = {"re", "typing", "enum", "functools", "collections", "collections.abc"}


def _imported_by(module: str) -> list[tuple[str, list[str]]]:
    """Return what importing ``module`` (an envconf module) loads, in a fresh interpreter.

    Each module comes with the modules below ``module`` that imported it, outermost first.
    The envconf package is a bare stand-in, so its ``__init__`` (which other render-path
    modules share) does not run and cannot hide what ``module`` itself imports; neither
    does ``site`` (``-S``).
    """
    package = Path(interpolate_module.__file__).parent
    code = (
        f"import sys; package = type(sys)('envconf'); package.__path__ = [{str(package)!r}];"
        f" sys.modules['envconf'] = package; import {module}"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []  # (depth, name), each after the modules it imported
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "imported package" not in line:
            name = line.rsplit("|", 1)[1]
            rows.append((len(name) - len(name.lstrip()), name.strip()))
    top = next(i for i, (_, name) in enumerate(rows) if name == module)
    loaded: list[tuple[str, list[str]]] = []
    importers: list[tuple[int, str]] = []
    for depth, name in reversed(rows[:top]):
        if depth <= rows[top][0]:
            break
        while importers and importers[-1][0] >= depth:
            importers.pop()
        loaded.append((name, [importer for _, importer in importers]))
        importers.append((depth, name))
    return loaded


def test_importing_the_module_loads_nothing_heavy() -> None:
    loaded = _imported_by("envconf.interpolate")
    assert {name for name, importers in loaded if not importers} <= {
        "__future__",
        "envconf.records",
    }
    assert {name for name, _ in loaded if name in HEAVY} == set()


def _best_of(runs: int, call: Callable[[], object]) -> float:
    return min(_timed(call) for _ in range(runs))


def _expand_both(text: str) -> None:
    for expand in (interpolate, envsubst):
        with contextlib.suppress(InterpolationError):
            expand(text, NOTHING.get)


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda n: "${X:-{a} $Y\n" * n, id="unterminated-operators"),
        pytest.param(lambda n: "${X:-" * n, id="unterminated-on-one-line"),
        pytest.param(lambda n: "${ x\n" * n + "}" * n, id="malformed-closed-far-away"),
    ],
)
def test_unterminated_references_keep_the_scan_linear(build: Callable[[int], str]) -> None:
    # Ten times the text should take about ten times as long; a quadratic scan (each
    # "${" looking for its "}" to the end of the text) takes a hundred times as long.
    small, large = build(2_000), build(20_000)
    enabled = gc.isenabled()
    gc.disable()  # the issues are many objects; a collection would distort the ratio
    try:
        ratio = _best_of(3, lambda: _expand_both(large)) / _best_of(5, lambda: _expand_both(small))
    finally:
        if enabled:
            gc.enable()
    assert ratio < 35


def test_large_template_is_fast() -> None:
    block = (
        "server {\n    listen ${PORT};\n    server_name ${SERVER_NAME:-localhost};\n"
        "    location / {\n        proxy_pass http://backend$request_uri;\n"
        "        proxy_set_header Host $host;\n        add_header X-Port ${PORT:-80};\n"
        "        client_max_body_size 10m;\n    }\n}\n"
    )
    text = block * (200_000 // len(block))
    env = {"PORT": "8080"}.get
    best = min(_timed(lambda: envsubst(text, env)) for _ in range(3))
    # About 3 ms here (a very reference-dense text); the bound only catches a regression
    # to per-character scanning or quadratic behaviour.
    assert best < 0.1


def _timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


# -- conformance with GNU envsubst as the nginx image calls it ------------------------------

GNU_ENVSUBST = shutil.which("envsubst", path="/usr/bin")

NGINX_TEMPLATE = """\
# generated from a template
upstream app { server ${APP_HOST}:${APP_PORT}; }
server {
    listen ${PORT} default_server;
    listen [::]:$PORT;
    server_name ${SERVER_NAME} www.$SERVER_NAME;
    root /srv/$ROOT_DIR/public;
    location / {
        try_files $uri $uri/ /index.html =404;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_pass http://app$request_uri;
        add_header X-Env "${EMPTY}" always;
        add_header X-Unset "${UNSET_VAR}${PORT}x$PORTS";
    }
    location ~ ^/(.*)$ { return 301 https://$host/$1; }
    # oddities: $$PORT $${PORT} ${ PORT} ${PORT ${PORT:x} ${} $ ${A$PORT} ${$PORT}
    # trailing dollar and unicode: ünïcødé ✓ $
}
"""

SMALL_TEMPLATES = [
    "",
    "plain text\n",
    "$PORT$PORT${PORT}$",
    "${NGINX_X} $NGINX_X ${nginx_lower} $nginx_lower",
    # filtered-out names keep their operator, byte for byte
    "${REJECTED:-x} ${REJECTED:?y} ${REJECTED+z} ${REJECTED:-$PORT}",
    "$\n${\n${PORT\n}\n",
]

ENVIRONMENTS: list[dict[str, str]] = [
    {
        "APP_HOST": "app",
        "APP_PORT": "8000",
        "PORT": "8080",
        "SERVER_NAME": "example.com",
        "ROOT_DIR": "site",
        "EMPTY": "",
        "NGINX_X": "x",
    },
    {"PORT": "", "SERVER_NAME": "", "EMPTY": "", "REJECTED": ""},  # set but empty
    {},  # nothing set: everything stays
    {"PORT": "$host ${PORT} $$", "SERVER_NAME": "ünï ✓", "REJECTED": "r"},  # not re-expanded
]

FILTERS: list[str | None] = [None, "^NGINX_", "PORT", "^(PORT|SERVER_NAME)$"]


def gnu_envsubst(template: str, env: dict[str, str], name_filter: str | None) -> str:
    """Run /usr/bin/envsubst exactly as 20-envsubst-on-templates.sh builds its arguments."""
    assert GNU_ENVSUBST is not None
    names = [n for n in env if name_filter is None or re.search(name_filter, n)]
    # printf '${%s} ' with no arguments still prints the format once: "${} ".
    shell_format = "".join(f"${{{name}}} " for name in names) or "${} "
    result = subprocess.run(
        [GNU_ENVSUBST, shell_format],
        input=template.encode(),
        env=env,
        capture_output=True,
        check=True,
    )
    return result.stdout.decode()


@pytest.mark.skipif(GNU_ENVSUBST is None, reason="GNU envsubst (gettext-base) is not installed")
@pytest.mark.parametrize(
    ("template", "env", "name_filter"),
    [
        pytest.param(t, e, f, id=f"template{ti}-env{ei}-filter{fi}")
        for (ti, t), (ei, e), (fi, f) in itertools.product(
            enumerate([NGINX_TEMPLATE, *SMALL_TEMPLATES]),
            enumerate(ENVIRONMENTS),
            enumerate(FILTERS),
        )
        # "${REJECTED:-x}" only matches GNU when the filter rejects REJECTED.
        if not ("REJECTED" in t and (f is None or re.search(f, "REJECTED")))
    ],
)
def test_envsubst_is_byte_identical_to_gnu_envsubst(
    template: str, env: dict[str, str], name_filter: str | None
) -> None:
    pattern = None if name_filter is None else re.compile(name_filter)
    ours = envsubst(template, env.get, name_filter=pattern)
    assert ours == gnu_envsubst(template, env, name_filter)
