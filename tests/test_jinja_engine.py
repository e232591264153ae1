"""Tests of the Jinja2 engine: names, VAR_FILE, the optimistic render and its fallback."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

import envconf.jinja_engine as engine
from envconf.fileread import FileVariables
from envconf.jinja_engine import jinja_environment, jinja_line_map, render_jinja
from envconf.render.jinja_cache import JinjaCache
from envconf.templating import TemplateFailed


def lines_and_names(failed: TemplateFailed) -> list[tuple[int, str]]:
    """(line, variable) of each problem: located ``t.j2:LINE``, message ``VAR: ...``."""
    return [
        (int(p.location.rpartition(":")[2]), p.message.partition(":")[0]) for p in failed.problems
    ]


def jinja(text: str, env: dict[str, str], **extra: object) -> str:
    return render_jinja(text, "t.j2", FileVariables(env), extra or None)


def failure(text: str, env: dict[str, str], cache: JinjaCache | None = None) -> TemplateFailed:
    with pytest.raises(TemplateFailed) as info:
        render_jinja(text, "t.j2", FileVariables(env), None, cache)
    return info.value


def refuse(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("not expected on this path")


def test_jinja_sees_variables_by_name_and_as_env() -> None:
    assert jinja("{{ A }}-{{ env.B }}\n", {"A": "1", "B": "2"}) == "1-2\n"


def test_jinja_keeps_the_trailing_newline() -> None:
    assert jinja("x\n\n", {}) == "x\n\n"


def test_every_unset_name_is_reported_with_its_line() -> None:
    assert lines_and_names(failure("{{ A }}\n{{ B }}\n{{ C }}\n", {"B": "x"})) == [
        (1, "A"),
        (3, "C"),
    ]


def test_unset_names_are_reported_before_a_runtime_error_and_all_at_once() -> None:
    text = "{{ 1 // 0 }}\n{{ A }}\n{% if false %}{{ B }}{% endif %}\n"
    assert lines_and_names(failure(text, {})) == [(2, "A"), (3, "B")]


def test_default_filter_and_is_defined_guard_unset_names() -> None:
    text = '{{ PORT | default("80") }}{% if X is defined %}x{% endif %}\n'
    assert jinja(text, {}) == "80\n"


def test_a_guarded_name_used_unguarded_elsewhere_is_still_an_error() -> None:
    assert [
        name for _, name in lines_and_names(failure('{{ Y | default("1") }} {{ Y }}\n', {}))
    ] == ["Y"]


def test_names_the_template_binds_itself_are_not_variables() -> None:
    assert jinja("{% set a = 1 %}{% for i in [a] %}{{ i }}{% endfor %}\n", {}) == "1\n"


def test_names_jinja_provides_render_and_are_never_reported_unset() -> None:
    text = (
        "{% macro m() %}{{ caller() }}{{ varargs|length }}{% endmacro %}\n"
        "{% for i in 'ab' %}{{ loop.index }}{{ i }}{% endfor %}\n"
        "{% call m() %}c{% endcall %}\n"
        "{% set ns = namespace(n=1) %}{{ ns.n }}{{ range(2)|list }}\n"
    )
    assert jinja(text, {}) == "\n1a2b\nc0\n1[0, 1]\n"
    # When the render fails for another reason, the analysis blames none of them.
    assert lines_and_names(failure(text + "{{ UNSET }}\n", {})) == [(5, "UNSET")]


def test_an_unset_name_only_in_a_branch_not_taken_renders() -> None:
    # Rendered as Jinja's StrictUndefined does: only a name actually used must be set.
    assert jinja("{% if false %}{{ NOPE }}{% endif %}ok\n", {}) == "ok\n"


def test_syntax_errors_name_the_line() -> None:
    assert failure("ok\n{% if %}\n", {}).problems[0].location == "t.j2:2"


def test_a_runtime_error_is_named_by_kind_and_line_only() -> None:
    (problem,) = failure("a\n{{ (A | int) // 0 }}\n", {"A": "7"}).problems
    assert (problem.location, problem.message) == (
        "t.j2:2",
        "error while rendering (ZeroDivisionError)",
    )


def test_after_a_failure_the_checked_render_decides() -> None:
    # ``a`` is bound by the loop, so the analysis gives it no variable: the checked render
    # reports it undefined, as it always did, though a=5 let the first render go on.
    text = "{% for a in [1] %}{% endfor %}\n{{ a }}{{ 1 // 0 }}\n"
    (problem,) = failure(text, {"a": "5"}).problems
    assert (problem.location, problem.message) == ("t.j2:2", "a is undefined")


def test_a_scoped_block_sees_variables_not_yet_looked_up() -> None:
    # Jinja copies the names into a plain dict for a scoped block: a variable first read
    # there must still be found, never replaced by its default.
    text = "{% set a = 1 %}{% block b scoped %}{{ X | default('d') }}{{ a }}{% endblock %}\n"
    assert jinja(text, {"X": "x"}) == "x1\n"
    text = "{% for i in [1] %}{% block c scoped %}{{ X }}{{ i }}{% endblock %}{% endfor %}\n"
    assert jinja(text, {"X": "x"}) == "x1\n"


def test_sandbox_refuses_attribute_escapes() -> None:
    with pytest.raises(TemplateFailed, match="unsafe"):
        jinja("{{ ''.__class__.__mro__ }}\n", {})


def test_extra_context_is_available_and_wins_over_a_variable() -> None:
    assert jinja("{{ settings.port }}\n", {"settings": "x"}, settings={"port": 5}) == "5\n"


def test_output_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "MAX_RENDERED_CHARS", 10)
    (problem,) = failure("{% for i in range(5) %}{{ X }}{% endfor %}\n", {"X": "abc"}).problems
    assert problem.message == "the rendered output grew past 10 characters"


def test_var_file_is_read_only_for_names_the_template_uses(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    variables = FileVariables({"PW_FILE": str(secret), "LOG_FILE": str(tmp_path / "missing")})
    assert render_jinja("{{ PW }}\n", "t.j2", variables) == "s3cret\n"
    assert [read.variable for read in variables.reads] == ["PW_FILE"]


def test_an_unreadable_var_file_is_reported_on_the_line_that_uses_it(tmp_path: Path) -> None:
    failed = failure("a\n{{ KEY }}\n", {"KEY_FILE": str(tmp_path / "missing")})
    assert lines_and_names(failed) == [(2, "KEY")]
    assert "KEY_FILE" in failed.problems[0].message


def test_var_and_var_file_both_set_is_an_error(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret")
    failed = failure("x\n{{ PW }}\n", {"PW": "other", "PW_FILE": str(secret)})
    assert [p.location for p in failed.problems] == ["t.j2:2"]
    assert "PW_FILE" in str(failed)
    assert "s3cret" not in str(failed) and "other" not in str(failed)


def test_a_template_that_renders_is_compiled_once_and_never_analysed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(engine, "analyse", refuse)
    monkeypatch.setattr(jinja_environment(), "parse", refuse)
    assert jinja("{% set a = A %}{{ a }}\n", {"A": "1"}) == "1\n"


def test_a_cache_miss_stores_the_analysis_and_a_hit_neither_parses_nor_compiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = JinjaCache(str(tmp_path / "c"), print)
    text = "port={{ PORT }}\n{{ MISSING | default('d') }}\n"
    assert render_jinja(text, "t.j2", FileVariables({"PORT": "1"}), None, cache) == "port=1\nd\n"
    stored = cache.get(text)
    assert stored is not None and stored[0] == (
        [("PORT", 1), ("MISSING", 2)],
        set(),
        {"MISSING"},
    )
    monkeypatch.setattr(jinja_environment(), "parse", refuse)
    monkeypatch.setattr(jinja_environment(), "compile", refuse)
    assert render_jinja(text, "t.j2", FileVariables({"PORT": "2"}), None, cache) == "port=2\nd\n"
    # A failing start is checked against the cached analysis, still without parsing.
    assert lines_and_names(failure(text, {}, cache)) == [(1, "PORT")]


def test_a_template_that_does_not_compile_is_not_cached(tmp_path: Path) -> None:
    cache = JinjaCache(str(tmp_path / "c"), print)
    (problem,) = failure("{{ A | no_such_filter }}\n", {"A": "1"}, cache).problems
    assert problem.message == "error while rendering (TemplateAssertionError)"
    assert list((tmp_path / "c").iterdir()) == []
    # Unset names still come first, as without a cache.
    assert lines_and_names(failure("{{ B | no_such_filter }}\n", {}, cache)) == [(1, "B")]


def test_the_module_imports_no_jinja2_at_module_level() -> None:
    """``render`` without a Jinja template must not pay for jinja2 (nor --settings alone)."""
    tree = ast.parse(Path(engine.__file__).read_text(encoding="utf-8"))
    top = {n.module for n in tree.body if isinstance(n, ast.ImportFrom)}
    top |= {a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names}
    assert not any(str(name).startswith("jinja2") for name in top)


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
