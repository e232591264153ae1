"""Tests of the shared template engines (Jinja2 and envsubst) and VAR_FILE lookups."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from envconf.fileread import FileVariables
from envconf.templating import TemplateFailed, render_envsubst, render_jinja


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
