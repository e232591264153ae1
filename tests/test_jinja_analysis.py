"""Tests of the analysis a failed Jinja render is checked against."""

from __future__ import annotations

import pytest

from envconf.fileread import FileVariables
from envconf.jinja_analysis import analyse, parse, raise_unset
from envconf.jinja_engine import jinja_environment
from envconf.templating import TemplateFailed


def analysed(text: str) -> tuple[list[tuple[str, int]], set[str], set[str]]:
    return analyse(parse(jinja_environment(), text, "t.j2"))


def test_every_read_is_listed_with_its_line_in_order() -> None:
    loads, _, _ = analysed("{{ A }}\n{{ B ~ A }}\n")
    assert loads == [("A", 1), ("B", 2), ("A", 2)]


def test_names_the_template_binds_are_not_variables() -> None:
    text = "{% set a = 1 %}{% for i in x %}{{ i }}{% endfor %}{% macro m(p) %}{{ p }}{% endmacro %}"
    _, assigned, _ = analysed(text)
    assert assigned == {"a", "i", "p", "m"}


def test_names_jinja_provides_may_be_unset_but_are_not_bound() -> None:
    text = (
        "{% for i in x %}{{ loop.index }}{% endfor %}"
        "{% macro m(p) %}{{ caller() }}{{ varargs }}{{ kwargs }}{% endmacro %}"
        "{% block b %}{{ super() }}{{ self }}{% endblock %}"
    )
    _, assigned, guarded = analysed(text)
    assert guarded == {"loop", "caller", "varargs", "kwargs", "super", "self"}
    assert assigned == {"i", "p", "m"}


def test_a_name_is_guarded_only_when_every_use_is() -> None:
    _, _, guarded = analysed("{{ A | default(1) }}{% if B is defined %}{{ B }}{% endif %}")
    assert guarded == {"A"}


def test_every_unset_name_is_raised_at_its_first_use_except_given_and_guarded() -> None:
    analysis = analysed("{{ A }}\n{{ B | d(1) }}\n{{ env }}{{ settings }}\n{{ C }}{{ A }}\n")
    with pytest.raises(TemplateFailed) as info:
        raise_unset(analysis, "t.j2", FileVariables({"C": "set"}), {"env", "settings"})
    assert [(p.location, p.message) for p in info.value.problems] == [
        ("t.j2:1", "A: variable is not set")
    ]


def test_a_syntax_error_is_located() -> None:
    with pytest.raises(TemplateFailed) as info:
        parse(jinja_environment(), "a\nb {{ \n", "t.j2")
    (problem,) = info.value.problems
    assert problem.location == "t.j2:2" and problem.message.startswith("syntax error: ")
