"""Fuzz the renderer with hostile templates and hostile option values.

Whatever a template or an option says, ``envconf render`` ends with a located error or a
usage error: never a traceback, never a secret (in any transformed form) in a message,
and an exit status of 0, 1 or 2. Everything runs in-process through the real
``envconf.cli.main`` with ``--check`` (nothing is written, nothing is exec'd).
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envconf.cli import main

from .budget import fuzz

CANARY = "canary-5e1f0a77-9c2d-4b3e-a6f8"
FORMS = [CANARY, CANARY.upper(), CANARY[::-1], CANARY[1:], CANARY[3:20], "-".join(CANARY)]

# Pieces of Jinja a hostile template is made of: the secret under every filter that
# transforms it, lookups keyed by it, the sandbox's usual escape attempts, and nesting.
EXPRESSIONS = [
    "SECRET", "SECRET|upper", "SECRET|reverse", "SECRET[1:]", "SECRET|list",
    "SECRET|list|join('-')", "SECRET|int", "SECRET|float", "SECRET|truncate(-5)",
    "SECRET|length", "SECRET|wordcount",
    "{}[SECRET]", "{}[SECRET|upper]", "[][SECRET|length]", "env[SECRET]", "env.NOPE",
    "cycler().next()", "'inf'|float|int", "namespace(x=SECRET).y", "SECRET.__class__",
    "''.__class__.__mro__", "lipsum.__globals__", "SECRET|attr('upper')()", "SECRET ~ 1",
    "SECRET * 2", "SECRET / 0", "1 / 0", "range(10**9)|list", "SECRET|format(SECRET)",
    "UNSET", "UNSET|default(SECRET)",
]  # fmt: skip
OPENERS = ["{% if SECRET %}", "{% for c in SECRET %}", "{% set x = SECRET %}", "("]
CLOSERS = {"{% if SECRET %}": "{% endif %}", "{% for c in SECRET %}": "{% endfor %}", "(": ")"}


@st.composite
def templates(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.sampled_from(EXPRESSIONS), min_size=1, max_size=4))
    body = " ".join("{{ " + part + " }}" for part in parts)
    opener = draw(st.sampled_from(OPENERS))
    # Nested loops multiply (30 ** depth iterations): deep enough to hit the output bound
    # quickly, shallow enough that a loop without output ends.
    depth = draw(st.integers(0, 4 if opener.startswith("{% for") else 150))
    if opener == "(":
        body = "{{ " + "(" * depth + "SECRET" + ")" * depth + " }}" + body
    elif opener in CLOSERS:
        body = opener * depth + body + CLOSERS[opener] * depth
    else:
        body = opener + body
    noise = draw(st.text(alphabet="{}%#()[]|'\"\n ", max_size=20))
    return body + noise + "\n"


def render(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    """Run ``envconf ARGS`` in-process; returns (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    old_env, old_cwd = dict(os.environ), os.getcwd()
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(args)
            except SystemExit as exc:  # --help
                status = exc.code if isinstance(exc.code, int) else 0
    finally:
        os.chdir(old_cwd)
        os.environ.clear()
        os.environ.update(old_env)
    return status, out.getvalue(), err.getvalue()


def assert_safe(status: int, stdout: str, stderr: str) -> None:
    assert "Traceback" not in stdout + stderr
    assert status in (0, 1, 2), (status, stderr)
    for form in FORMS:
        assert form not in stderr, (form, stderr)


@fuzz(examples=400)
@given(template=templates())
def test_a_hostile_template_never_leaks_the_secret_nor_crashes(
    template: str, tmp_path_factory
) -> None:  # type: ignore[no-untyped-def]
    work = tmp_path_factory.mktemp("hostile")
    (work / "t.j2").write_text(template)
    env = {"SECRET": CANARY, "PATH": "/usr/bin:/bin"}
    assert_safe(*render(["render", "--check", "-t", "t.j2:out"], work, env))
    assert not (work / "out").exists()


# (--wait and --template-dir are left out: a valid value would wait for, or walk, whatever
# the fuzzer names; tests/security covers --wait's URL handling.)
VALUE_OPTIONS = [
    "--timeout", "--mode", "--filter", "--engine", "--poll-interval", "--reload-signal",
    "--reload-command", "--output-dir", "--cache-dir", "--user", "--format", "--settings",
]  # fmt: skip
HOSTILE_VALUES = st.one_of(
    st.sampled_from(
        ["-1", "nan", "inf", "-inf", "1e300", "0", "07777", "4755", "(", "[", "*", "..", "/",
         "http://u:" + CANARY + "@127.0.0.1:9/", "tcp://[::1", "file://", "SIG", "99", "''",
         "\x00", "\n", "json", "a:b:c", "nope.py:X"]
    ),
    st.text(max_size=12),
)  # fmt: skip


@fuzz(examples=300)
@given(
    options=st.lists(st.tuples(st.sampled_from(VALUE_OPTIONS), HOSTILE_VALUES), max_size=4),
    watch=st.booleans(),
)
def test_hostile_option_values_are_usage_errors_not_crashes(
    options: list[tuple[str, str]], watch: bool, tmp_path_factory: pytest.TempPathFactory
) -> None:
    work = tmp_path_factory.mktemp("options")
    (work / "t.tmpl").write_text("${SECRET}\n")
    args = ["render", "--check", "-t", "t.tmpl:out"]
    for flag, value in options:
        if "\x00" in value:
            continue  # argv cannot hold a NUL byte
        args += [flag, value]
    if watch:
        args += ["--watch", "--", "true"]
    env = {"SECRET": CANARY, "PATH": "/usr/bin:/bin"}
    status, stdout, stderr = render(args, work, env)
    assert_safe(status, stdout, stderr)
