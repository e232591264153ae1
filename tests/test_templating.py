"""Tests of the shared template engines (Jinja2 and envsubst) and VAR_FILE lookups."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from envconf.fileread import FileVariables
from envconf.templating import TemplateFailed, jinja_line_map, render_envsubst, render_jinja


def _variable(message: str) -> str:
    """The variable a template problem names: ``VAR: ...`` or ``required variable VAR ...``."""
    if message.startswith("required variable "):
        return message.split()[2]
    return message.partition(":")[0]


def lines_and_names(failed: TemplateFailed) -> list[tuple[int, str]]:
    """(line, variable) of each problem: located ``t.j2:LINE``, message ``VAR: ...``."""
    return [(int(p.location.rpartition(":")[2]), _variable(p.message)) for p in failed.problems]


def jinja(text: str, env: dict[str, str], **extra: object) -> str:
    return render_jinja(text, "t.j2", FileVariables(env), extra or None)


def test_jinja_sees_variables_by_name_and_as_env() -> None:
    assert jinja("{{ A }}-{{ env.B }}\n", {"A": "1", "B": "2"}) == "1-2\n"


def test_jinja_keeps_the_trailing_newline() -> None:
    assert jinja("x\n\n", {}) == "x\n\n"


def test_every_unset_name_is_reported_with_its_line() -> None:
    with pytest.raises(TemplateFailed) as info:
        jinja("{{ A }}\n{{ B }}\n{{ C }}\n", {"B": "x"})
    assert lines_and_names(info.value) == [(1, "A"), (3, "C")]


def test_default_filter_and_is_defined_guard_unset_names() -> None:
    text = '{{ PORT | default("80") }}{% if X is defined %}x{% endif %}\n'
    assert jinja(text, {}) == "80\n"


def test_a_guarded_name_used_unguarded_elsewhere_is_still_an_error() -> None:
    with pytest.raises(TemplateFailed) as info:
        jinja('{{ Y | default("1") }} {{ Y }}\n', {})
    assert [name for _, name in lines_and_names(info.value)] == ["Y"]


def test_names_the_template_binds_itself_are_not_variables() -> None:
    assert jinja("{% set a = 1 %}{% for i in [a] %}{{ i }}{% endfor %}\n", {}) == "1\n"


def test_syntax_errors_name_the_line() -> None:
    with pytest.raises(TemplateFailed) as info:
        jinja("ok\n{% if %}\n", {})
    assert lines_and_names(info.value)[0][0] == 2


def test_sandbox_refuses_attribute_escapes() -> None:
    with pytest.raises(TemplateFailed, match="unsafe"):
        jinja("{{ ''.__class__.__mro__ }}\n", {})


def test_extra_context_is_available() -> None:
    assert jinja("{{ settings.port }}\n", {}, settings={"port": 5}) == "5\n"


def test_var_file_provides_var_only_when_used(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    env = {"PW_FILE": str(secret), "LOG_FILE": str(tmp_path / "missing")}
    assert jinja("{{ PW }}\n", env) == "s3cret\n"
    assert render_envsubst("${PW}\n", "t.tmpl", FileVariables(env)) == "s3cret\n"


def test_var_and_var_file_both_set_is_an_error(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret")
    with pytest.raises(TemplateFailed) as info:
        jinja("{{ PW }}\n", {"PW": "other", "PW_FILE": str(secret)})
    assert "PW_FILE" in str(info.value)
    assert "s3cret" not in str(info.value) and "other" not in str(info.value)


def test_envsubst_respects_the_filter_and_strict_mode() -> None:
    resolver = FileVariables({"NGINX_A": "1", "B": "2"})
    out = render_envsubst("$NGINX_A $B\n", "t", resolver, name_filter=re.compile("^NGINX_"))
    assert out == "1 $B\n"
    with pytest.raises(TemplateFailed) as info:
        render_envsubst("$host\n${NOPE}\n", "t", FileVariables({}), strict=True)
    assert lines_and_names(info.value) == [(2, "NOPE")]


def line_map(text: str, env: dict[str, str] | None = None) -> tuple[str, list[int]]:
    variables = FileVariables(env or {})
    rendered = render_jinja(text, "t.j2", variables)
    return rendered, jinja_line_map(text, "t.j2", variables, rendered)


def test_each_output_line_maps_to_the_template_line_that_wrote_it() -> None:
    text = (
        "name: a\n"  # 1
        "users:\n"  # 2
        "{% for u in ['x', 'y'] %}\n"  # 3
        "  - {{ u }}\n"  # 4
        "{% endfor %}\n"  # 5
        "port: {{ P }}\n"  # 6
        "level: debug\n"  # 7
    )
    rendered, lines = line_map(text, {"P": "80"})
    out = rendered.split("\n")
    assert out[:7] == ["name: a", "users:", "", "  - x", "", "  - y", ""]
    assert lines[: len(out)] == [1, 2, 3, 4, 5, 4, 5, 6, 7, 8]
    assert out[7] == "port: 80" and lines[7] == 6
    assert out[8] == "level: debug" and lines[8] == 7


def test_a_multi_line_value_stays_on_its_expression_line_and_whitespace_control_counts() -> None:
    text = "a: |\n  {{ V | indent(2) }}\nb: 1\n{%- if true %}\nc: 2\n{% endif %}\n"
    rendered, lines = line_map(text, {"V": "one\ntwo"})
    assert rendered.split("\n") == ["a: |", "  one", "  two", "b: 1", "c: 2", "", ""]
    assert lines == [1, 2, 2, 3, 5, 6, 7]


def test_a_filter_over_captured_text_falls_back_to_output_lines() -> None:
    text = "{% filter upper %}\na: 1\n{% endfilter %}\n{% set x %}ab{% endset %}n: {{ x|length }}\n"
    rendered, lines = line_map(text)
    assert "n: 2" in rendered  # the marks never reach what the template computes
    assert lines == list(range(1, rendered.count("\n") + 2))
