"""Tests of what both engines share, and of the envsubst engine."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import envconf.templating
from envconf.fileread import FileReadError, FileVariables
from envconf.templating import TemplateFailed, lookup_checked, render_envsubst, template_problem


def lines_and_names(failed: TemplateFailed) -> list[tuple[int, str]]:
    """(line, variable) of each problem: located ``t:LINE``, message ``VAR: ...``."""
    out = []
    for problem in failed.problems:
        message = problem.message
        name = message.split()[2] if message.startswith("required ") else message.partition(":")[0]
        out.append((int(problem.location.rpartition(":")[2]), name))
    return out


def test_envsubst_replaces_set_variables_and_keeps_the_rest() -> None:
    out = render_envsubst("${A}:$B $host\n", "t.tmpl", FileVariables({"A": "1", "B": "2"}))
    assert out == "1:2 $host\n"


def test_envsubst_respects_the_filter_and_strict_mode() -> None:
    resolver = FileVariables({"NGINX_A": "1", "B": "2"})
    out = render_envsubst("$NGINX_A $B\n", "t", resolver, name_filter=re.compile("^NGINX_"))
    assert out == "1 $B\n"
    with pytest.raises(TemplateFailed) as info:
        render_envsubst("$host\n${NOPE}\n", "t", FileVariables({}), strict=True)
    assert lines_and_names(info.value) == [(2, "NOPE")]


def test_envsubst_var_file_provides_var_only_when_used(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    variables = FileVariables({"PW_FILE": str(secret), "LOG_FILE": str(tmp_path / "missing")})
    assert render_envsubst("${PW}\n", "t.tmpl", variables) == "s3cret\n"
    assert [read.variable for read in variables.reads] == ["PW_FILE"]


def test_envsubst_reports_every_unreadable_variable_on_its_first_reference_line(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret")
    env = {"PW": "other", "PW_FILE": str(secret), "KEY_FILE": str(tmp_path / "missing")}
    text = "a $PWD\nb ${PW}\nc $KEY\nd $PW\n"
    with pytest.raises(TemplateFailed) as info:
        render_envsubst(text, "t.tmpl", FileVariables(env))
    assert lines_and_names(info.value) == [(3, "KEY"), (2, "PW")]
    assert "s3cret" not in str(info.value) and "other" not in str(info.value)


def test_envsubst_reads_a_var_file_only_where_its_value_is_expanded(tmp_path: Path) -> None:
    # One pass: a default that is not used, a filtered-out name and an unreadable file in
    # strict mode (only the unreadable file is reported, not the unset variable after it).
    env = {"A": "set", "B_FILE": str(tmp_path / "missing"), "C_FILE": str(tmp_path / "nope")}
    variables = FileVariables(env)
    assert render_envsubst("${A:-$B}\n", "t", variables) == "set\n"
    assert variables.reads == []
    nginx_only = re.compile("^NGINX_")
    assert render_envsubst("$B\n", "t", FileVariables(env), name_filter=nginx_only) == "$B\n"
    with pytest.raises(TemplateFailed) as info:
        render_envsubst("${A:-$B}\n${C}\n", "t", FileVariables(env), strict=True)
    assert lines_and_names(info.value) == [(2, "C")]
    assert "required" not in str(info.value)


def test_lookup_checked_refuses_a_value_that_is_not_text() -> None:
    with pytest.raises(FileReadError, match="not valid UTF-8"):
        lookup_checked(FileVariables({"X": "\udcff"}), "X")
    assert lookup_checked(FileVariables({"X": "ok"}), "X") == "ok"


def test_a_template_problem_names_its_variable_once() -> None:
    assert str(template_problem("t", 3, "variable is not set", "A")).endswith(
        "t:3: A: variable is not set"
    )
    problem = template_problem("t", 1, "required variable A is not set", "A")
    assert problem.message == "required variable A is not set"


def test_the_envsubst_path_imports_no_re_enum_or_typing_at_run_time() -> None:
    """``envconf render`` imports this module at every container start (issue 16)."""
    tree = ast.parse(Path(envconf.templating.__file__).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in tree.body:  # module level only; ``if TYPE_CHECKING:`` blocks never run
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported.isdisjoint({"re", "enum", "typing", "jinja2"})
