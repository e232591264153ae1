"""``render --in-process``: which commands run in this interpreter, and how the app sees it.

The unit tests check the detection; the process tests run the real ``envconf render``
and an app that reports what a fresh ``python`` would have given it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from envconf.render.inprocess import PythonApp, python_app

PYTHON = sys.executable
ENVCONF = str(Path(sys.executable).with_name("envconf"))


def test_python_dash_m_runs_the_module() -> None:
    app = python_app([PYTHON, "-m", "pkg", "a", "-b"], PYTHON, {"X": "1"})
    assert app == PythonApp("module", "pkg", ("a", "-b"), {"X": "1"})


def test_python_with_a_script_runs_the_script() -> None:
    assert python_app([PYTHON, "app.py", "x"], PYTHON, {}) == PythonApp(
        "path", "app.py", ("x",), {}
    )


def test_interpreter_options_are_exec_d_with_a_reason() -> None:
    reason = python_app([PYTHON, "-u", "-m", "pkg"], PYTHON, {})
    assert isinstance(reason, str) and "interpreter options (-u -m)" in reason


def test_a_console_script_of_this_python_runs_here(tmp_path: Path) -> None:
    script = tmp_path / "tool"
    script.write_text(f"#!{PYTHON}\nprint('hi')\n")
    assert python_app(["tool", "x"], str(script), {}) == PythonApp("path", str(script), ("x",), {})
    script.write_text(f"#!{PYTHON} -u\nprint('hi')\n")  # options on the #! line: exec it
    assert isinstance(python_app(["tool"], str(script), {}), str)


def test_another_program_is_exec_d_with_a_reason() -> None:
    reason = python_app(["sh", "-c", "true"], "/bin/sh", {})
    assert isinstance(reason, str) and "is not this Python" in reason


APP = """
import gc, os, signal, sys
print("gc", gc.isenabled(), flush=True)
print("frozen", gc.get_freeze_count() > 1000, flush=True)
print("argv", sys.argv[1:], flush=True)
print("pid", os.getpid(), flush=True)
print("path0", sys.path[0] == os.getcwd(), flush=True)
print("signals",
      signal.getsignal(signal.SIGINT) is signal.default_int_handler,
      signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN,
      signal.getsignal(signal.SIGTERM) == signal.SIG_DFL,
      signal.pthread_sigmask(signal.SIG_BLOCK, set()) == set(), flush=True)
print("env", os.environ.get("GREETING"), os.environ.get("ENVCONF_IN_PROCESS"), flush=True)
print("rendered", open("out/g.txt").read().strip(), flush=True)
print("main", __name__, flush=True)
if "fail" in sys.argv:
    raise RuntimeError("the app failed")
if "wait" in sys.argv:
    print("ready", flush=True)
    sys.stdin.read()
sys.exit(int(sys.argv[1]))
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "__main__.py").write_text(textwrap.dedent(APP))
    (tmp_path / "out").mkdir()
    (tmp_path / "g.txt.tmpl").write_text("hello ${GREETING}\n")
    return tmp_path


def start(project: Path, *app: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [ENVCONF, "render", "-t", "g.txt.tmpl:out/g.txt", "--", PYTHON, "-m", "pkg", *app],
        cwd=project,
        env={"PATH": os.environ["PATH"], "GREETING": "hi", "ENVCONF_IN_PROCESS": "1"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_app_runs_in_envconf_s_process_as_a_fresh_python_would_start_it(
    project: Path,
) -> None:
    proc = start(project, "7", "x")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 7, err
    lines = dict(line.split(" ", 1) for line in out.splitlines())
    assert lines["argv"] == "['7', 'x']"
    assert lines["pid"] == str(proc.pid)  # the same process: PID 1 would stay PID 1
    assert lines["path0"] == "True"
    assert lines["signals"] == "True True True True"
    assert lines["env"] == "hi 1"
    assert lines["rendered"] == "hello hi"
    assert lines["main"] == "__main__"
    assert lines["gc"] == "True"  # paused while rendering, running again for the app
    assert lines["frozen"] == "True"  # what the render left is out of the app's collections
    assert "rendered 1 file(s)" in err


def test_an_uncaught_exception_is_the_app_s_traceback_and_status_1(project: Path) -> None:
    proc = start(project, "0", "fail")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "RuntimeError: the app failed" in err
    assert "During handling" not in err and "RunInProcess" not in err


def test_sigterm_reaches_the_app_with_its_default_action(project: Path) -> None:
    proc = start(project, "0", "wait")
    assert proc.stdout is not None
    for line in proc.stdout:  # the app says it is ready: no race with the render
        if line == "ready\n":
            break
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGTERM


def test_in_process_with_init_is_a_usage_error(project: Path) -> None:
    run = subprocess.run(
        [ENVCONF, "render", "--in-process", "--init", "--", PYTHON, "-m", "pkg"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2
    assert "--in-process cannot be combined with --init" in run.stderr


def test_nothing_is_frozen_for_an_app_when_the_collector_is_disabled() -> None:
    code = (
        "import gc\n"
        "from envconf.render.inprocess import freeze_render_objects\n"
        "gc.disable()\n"
        "freeze_render_objects()\n"
        "assert gc.get_freeze_count() == 0\n"
        "gc.enable()\n"
        "freeze_render_objects()\n"
        "assert gc.get_freeze_count() > 0\n"
    )
    subprocess.run([PYTHON, "-c", code], check=True)
