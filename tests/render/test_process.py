"""Tests for envconf.render.process: becoming the app with clean signal state."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from envconf.render.process import (
    DEFAULT_PATH,
    MAX_ARG_STRLEN,
    ExecError,
    check_exec_size,
    resolve_command,
)

SRC = str(Path(__import__("envconf").__file__).resolve().parents[1])

# Prints the app's signal state as the kernel sees it. Shell builtins only, so that
# /proc/self is the shell envconf exec'd (SigCgt is left out: dash catches SIGINT itself).
SIGNAL_STATE = (
    "while read -r l; do case $l in SigIgn*|SigBlk*) echo $l;; esac; done </proc/self/status"
)


def run_python(
    code: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter that can import envconf."""
    base = {"PATH": DEFAULT_PATH, "PYTHONPATH": SRC}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=20,
    )


def signal_state(output: str) -> dict[str, int]:
    wanted = {"SigIgn", "SigBlk", "SigCgt"}
    fields = (line.partition(":") for line in output.splitlines())
    return {name: int(value, 16) for name, _, value in fields if name in wanted}


# An envconf stand-in: exec argv[1:], printing ExecError the way the CLI does.
EXEC = """
import os, sys
from envconf.render.process import ExecError, exec_command
try:
    exec_command(sys.argv[1:], dict(os.environ))
except ExecError as err:
    sys.stderr.write(err.format() + "\\n")
    sys.exit(err.exit_code)
"""


def test_reset_signals_clears_ignored_blocked_and_caught_signals() -> None:
    result = run_python(
        """
        import signal, subprocess
        from envconf.render.process import reset_signals
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, lambda *a: None)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGRTMIN + 3})
        before = open("/proc/self/status").read()
        reset_signals()
        print(before)
        print("--")
        print(open("/proc/self/status").read())
        """
    )
    assert result.returncode == 0, result.stderr
    before, after = result.stdout.split("--")
    assert signal_state(before)["SigIgn"] & (1 << (signal.SIGPIPE - 1))  # Python's doing
    assert signal_state(before)["SigBlk"] != 0
    assert signal_state(after) == {"SigIgn": 0, "SigBlk": 0, "SigCgt": 0}


def test_exec_command_gives_the_app_default_signal_state() -> None:
    result = run_python(
        """
        import os, signal, sys
        from envconf.render.process import exec_command
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
        exec_command(["sh", "-c", sys.argv[1]], dict(os.environ))
        """,
        SIGNAL_STATE,
    )
    assert result.returncode == 0, result.stderr
    assert signal_state(result.stdout) == {"SigIgn": 0, "SigBlk": 0}


def test_exec_command_keeps_the_pid_and_passes_argv_and_env() -> None:
    result = run_python(
        """
        import os, sys
        from envconf.render.process import exec_command
        print(os.getpid(), flush=True)
        exec_command(["sh", "-c", 'echo "$$ $0 $1 $GREETING"', "app", "one"],
                     {"PATH": os.environ["PATH"], "GREETING": "hello"})
        """
    )
    assert result.returncode == 0, result.stderr
    pid, rest = result.stdout.split("\n", 1)
    assert rest == f"{pid} app one hello\n"


def test_exec_command_exit_status_is_the_apps() -> None:
    result = run_python(EXEC, "sh", "-c", "exit 42")
    assert result.returncode == 42


def test_missing_command_exits_127_with_a_clear_message() -> None:
    result = run_python(EXEC, "no-such-command-xyz")
    assert result.returncode == 127
    assert result.stderr == "envconf: no-such-command-xyz: command not found\n"


def test_missing_command_path_exits_127() -> None:
    result = run_python(EXEC, "/nonexistent/app")
    assert result.returncode == 127
    assert "envconf: /nonexistent/app: no such file or directory" in result.stderr


def test_non_executable_file_exits_126(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.write_text("#!/bin/sh\necho hi\n")
    app.chmod(0o644)
    result = run_python(EXEC, str(app))
    assert result.returncode == 126
    assert f"envconf: {app}: permission denied" in result.stderr


def test_non_executable_file_on_path_exits_126(tmp_path: Path) -> None:
    (tmp_path / "app").write_text("#!/bin/sh\necho hi\n")
    result = run_python(EXEC, "app", env={"PATH": str(tmp_path)})
    assert result.returncode == 126
    assert "envconf: app: permission denied" in result.stderr


def test_directory_exits_126(tmp_path: Path) -> None:
    result = run_python(EXEC, str(tmp_path))
    assert result.returncode == 126
    assert "is a directory" in result.stderr


def test_exec_format_error_exits_126_and_restores_signals(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.write_bytes(b"\x00\x01 not a program\n")
    app.chmod(0o755)
    result = run_python(
        """
        import os, signal, sys
        from envconf.render.process import ExecError, exec_command
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
        try:
            exec_command([sys.argv[1]], dict(os.environ))
        except ExecError as err:
            print(err.exit_code, err)
        print(signal.getsignal(signal.SIGHUP) == signal.SIG_IGN,
              signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN,
              signal.getsignal(signal.SIGINT) is signal.default_int_handler,
              signal.SIGUSR1 in signal.pthread_sigmask(signal.SIG_BLOCK, set()))
        """,
        str(app),
    )
    assert result.returncode == 0, result.stderr
    message, restored = result.stdout.splitlines()
    assert message.startswith(f"126 {app}: exec format error")
    assert restored == "True True True True"


def test_missing_interpreter_exits_126_naming_it(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.write_text("#!/nonexistent/bash\necho hi\n")
    app.chmod(0o755)
    result = run_python(EXEC, str(app))
    assert result.returncode == 126
    assert "bad interpreter /nonexistent/bash" in result.stderr


def test_resolve_command_searches_envs_path_in_order(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first, second):
        folder.mkdir()
        (folder / "app").write_text("#!/bin/sh\n")
        (folder / "app").chmod(0o755)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "app").mkdir()  # a directory is skipped, like execvp
    path = os.pathsep.join([str(tmp_path / "c"), str(first), str(second)])
    assert resolve_command("app", {"PATH": path}) == f"{first}/app"


def test_resolve_command_defaults_path_when_env_has_none() -> None:
    assert resolve_command("sh", {}) in {f"{d}/sh" for d in DEFAULT_PATH.split(":")}


def test_resolve_command_ignores_the_callers_own_path() -> None:
    with pytest.raises(ExecError) as info:
        resolve_command("sh", {"PATH": "/nonexistent"})
    assert info.value.exit_code == 127


def test_check_exec_size_names_an_oversized_variable_not_its_value() -> None:
    secret = "s3cr3t" * 35_000  # about 200 KB
    problems = check_exec_size(["app"], {"PATH": DEFAULT_PATH, "BIG_CERT": secret})
    assert len(problems) == 1
    assert "BIG_CERT" in problems[0]
    assert "s3cr3t" not in problems[0]


def test_check_exec_size_accepts_normal_commands() -> None:
    assert check_exec_size(["app", "--flag"], {"PATH": DEFAULT_PATH, "A": "b" * 1000}) == []


def test_check_exec_size_names_an_oversized_argument_by_position() -> None:
    problems = check_exec_size(["app", "ok", "x" * MAX_ARG_STRLEN], {})
    assert len(problems) == 1
    assert problems[0].startswith("argument 2 ")


def test_check_exec_size_reports_a_total_too_large_naming_the_largest() -> None:
    env = {f"VAR_{i}": "v" * 100_000 for i in range(70)}  # 7 MB, over any stack limit
    env["HUGE_ONE"] = "v" * 120_000
    problems = check_exec_size(["app"], env)
    assert len(problems) == 1
    assert "together" in problems[0]
    assert "HUGE_ONE" in problems[0]


@pytest.mark.parametrize(("size", "fits"), [(MAX_ARG_STRLEN - 1, True), (MAX_ARG_STRLEN, False)])
def test_check_exec_size_agrees_with_the_kernel_on_one_variable(size: int, fits: bool) -> None:
    value_size = size - len("BIG=")  # the kernel counts "BIG=value" plus a NUL
    assert (check_exec_size(["true"], {"BIG": "v" * value_size}) == []) is fits
    result = run_python(
        """
        import os, shutil, sys
        os.execve(shutil.which("true"), ["true"], {"BIG": "v" * int(sys.argv[1])})
        """,
        str(value_size),
    )
    if fits:
        assert result.returncode == 0, result.stderr
    else:
        assert "Argument list too long" in result.stderr


def test_exec_command_refuses_an_oversized_environment_before_exec() -> None:
    result = run_python(
        """
        import os
        from envconf.render.process import ExecError, exec_command
        try:
            exec_command(["true"], {**os.environ, "HUGE_CERT": "x" * 200_000})
        except ExecError as err:
            print(err.exit_code, err)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("126 true: cannot execute: environment variable HUGE_CERT ")
    assert "xxxx" not in result.stdout


def test_exec_error_formats_like_every_envconf_error() -> None:
    err = ExecError("app: command not found", 127)
    assert err.format() == "envconf: app: command not found"
    assert err.exit_code == 127
    assert ExecError("x", 126).exit_code == 126
