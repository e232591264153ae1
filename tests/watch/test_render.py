"""Tests for ``envconf render --watch`` (envconf.watch.render), run as a real process."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ..render.test_supervise import Envconf

POLL = ["--poll-interval", "0.05"]

# The app: prints "ready <file>", and "<SIGNAL> <file>" for each SIGHUP or SIGUSR1 it gets,
# where <file> is the rendered file's content as it reads it then; exits 7 on SIGTERM.
APP = """
import os, pathlib, signal, sys
path = pathlib.Path(sys.argv[1])
def reload(signum, frame):  # os.write: a handler may interrupt another one's output
    os.write(1, f"{signal.Signals(signum).name} {path.read_text().strip()}\\n".encode())
for signum in (signal.SIGHUP, signal.SIGUSR1):
    signal.signal(signum, reload)
signal.signal(signal.SIGTERM, lambda signum, frame: os._exit(7))
print("ready", path.read_text().strip(), flush=True)
while True:
    signal.pause()
"""


def app(rendered: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(APP), rendered]


def reloads(envconf: Envconf) -> list[str]:
    return [line for line in envconf.stdout if line.startswith(("SIGHUP", "SIGUSR1"))]


def stop(envconf: Envconf) -> int:
    """Let any stray reload arrive (it would be counted), then SIGTERM the app."""
    time.sleep(0.2)
    envconf.signal(signal.SIGTERM)
    return envconf.finish()


def test_watching_without_settings_does_not_import_pydantic() -> None:
    code = (
        "import sys; import envconf.watch.render, envconf.render.supervise; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'jinja2')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout == "[]\n", result.stderr


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "app.conf.tmpl").write_text("greeting=${GREETING}\n")
    return tmp_path


def test_a_change_rerenders_and_sends_one_sighup_each_time(site: Path) -> None:
    args = ["--watch", *POLL, "-t", "app.conf.tmpl", "--", *app("app.conf")]
    with Envconf(args, env={"GREETING": "hi"}, cwd=site) as envconf:
        assert envconf.wait_line("ready") == "ready greeting=hi"
        (site / "app.conf.tmpl").write_text("greeting=${GREETING} there\n")
        assert envconf.wait_line("SIGHUP") == "SIGHUP greeting=hi there"
        time.sleep(0.2)
        (site / "app.conf.tmpl").write_text("greeting=${GREETING} again\n")
        assert envconf.wait_line("SIGHUP") == "SIGHUP greeting=hi again"
        assert stop(envconf) == 7
    assert reloads(envconf) == ["SIGHUP greeting=hi there", "SIGHUP greeting=hi again"]
    stderr = "".join(envconf.stderr)
    assert "watching 2 input(s) by " in stderr
    assert "change in app.conf.tmpl: rewrote app.conf; sent SIGHUP to the app" in stderr


def test_a_broken_change_keeps_the_old_file_and_the_app(site: Path) -> None:
    args = ["--watch", *POLL, "-t", "app.conf.tmpl", "--", *app("app.conf")]
    with Envconf(args, env={"GREETING": "hi"}, cwd=site) as envconf:
        envconf.wait_line("ready")
        (site / "app.conf.tmpl").write_text("greeting=${NOT_SET:?is required}\n")
        deadline = time.monotonic() + 5
        while "not applied" not in "".join(envconf.stderr) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert (site / "app.conf").read_text() == "greeting=hi\n"
        (site / "app.conf.tmpl").write_text("greeting=${GREETING}!\n")  # fixed: applies
        assert envconf.wait_line("SIGHUP") == "SIGHUP greeting=hi!"
        assert stop(envconf) == 7
    stderr = "".join(envconf.stderr)
    assert "the previous files stay and the app keeps running" in stderr
    assert "app.conf.tmpl:1: required variable NOT_SET is not set: is required" in stderr
    assert reloads(envconf) == ["SIGHUP greeting=hi!"]


def test_unchanged_output_sends_nothing(site: Path) -> None:
    (site / "app.conf.tmpl").write_text("greeting=${GREETING}\n# ${UNSET_IS_KEPT}\n")
    args = ["--watch", *POLL, "-t", "app.conf.tmpl", "--", *app("app.conf")]
    with Envconf(args, env={"GREETING": "hi"}, cwd=site) as envconf:
        envconf.wait_line("ready")
        inode = (site / "app.conf").stat().st_ino
        (site / "app.conf.tmpl").write_text("greeting=${GREETING}\n# ${UNSET_IS_KEPT}\n")
        deadline = time.monotonic() + 5
        while "unchanged" not in "".join(envconf.stderr) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert stop(envconf) == 7
    assert "every output is unchanged; the app was not told" in "".join(envconf.stderr)
    assert reloads(envconf) == []
    assert (site / "app.conf").stat().st_ino == inode  # not even rewritten


def test_a_var_file_target_change_rerenders_with_a_custom_signal(site: Path) -> None:
    (site / "app.conf.tmpl").write_text("password=${DB_PASSWORD}\n")
    (site / "db_password").write_text("first\n")
    env = {"DB_PASSWORD_FILE": str(site / "db_password"), "LOG_FILE": str(site / "nope")}
    args = ["--watch", *POLL, "--reload-signal", "USR1", "-t", "app.conf.tmpl"]
    with Envconf([*args, "--", *app("app.conf")], env=env, cwd=site) as envconf:
        assert envconf.wait_line("ready") == "ready password=first"
        (site / "db_password").write_text("second\n")
        assert envconf.wait_line("SIGUSR1") == "SIGUSR1 password=second"
        assert stop(envconf) == 7
    assert "send SIGUSR1 to the app" in "".join(envconf.stderr)


def test_a_template_dir_that_is_its_own_output_dir_does_not_loop(site: Path) -> None:
    args = ["--watch", *POLL, "--template-dir", ".", "--output-dir", "."]
    with Envconf([*args, "--", *app("app.conf")], env={"GREETING": "hi"}, cwd=site) as envconf:
        envconf.wait_line("ready")
        (site / "extra.conf.tmpl").write_text("new=${GREETING}\n")  # a new template
        assert envconf.wait_line("SIGHUP") == "SIGHUP greeting=hi"
        assert (site / "extra.conf").read_text() == "new=hi\n"
        assert stop(envconf) == 7
    assert reloads(envconf) == ["SIGHUP greeting=hi"]
    assert "".join(envconf.stderr).count("change in") == 1


def test_the_reload_command_runs_instead_and_its_failure_is_logged(site: Path) -> None:
    command = f"{sys.executable} -c \"import sys; print('reloaded'); sys.exit(3)\""
    args = ["--watch", *POLL, "--reload-command", command, "-t", "app.conf.tmpl"]
    with Envconf([*args, "--", *app("app.conf")], env={"GREETING": "hi"}, cwd=site) as envconf:
        envconf.wait_line("ready")
        (site / "app.conf.tmpl").write_text("greeting=${GREETING}?\n")
        envconf.wait_line("reloaded")
        assert stop(envconf) == 7
    stderr = "".join(envconf.stderr)
    assert "started the reload command" in stderr
    assert "failed: status 3" in stderr
    assert reloads(envconf) == []


SETTINGS = """
import envconf

class App(envconf.Settings):
    model_config = envconf.SettingsConfigDict(env_prefix="APP_", config_files=["app.yaml"])
    workers: int = 1
"""


def test_settings_config_files_are_watched(site: Path) -> None:
    (site / "settings.py").write_text(SETTINGS)
    (site / "app.yaml").write_text("workers: 2\n")
    (site / "app.conf.j2").write_text("workers={{ settings.workers }}\n")
    args = ["--watch", *POLL, "--settings", "settings.py:App", "-t", "app.conf.j2"]
    with Envconf([*args, "--", *app("app.conf")], cwd=site) as envconf:
        assert envconf.wait_line("ready") == "ready workers=2"
        (site / "app.yaml").write_text("workers: 3\n")
        assert envconf.wait_line("SIGHUP") == "SIGHUP workers=3"
        (site / "app.yaml").write_text("workers: lots\n")  # invalid: kept, logged
        deadline = time.monotonic() + 5
        while "not applied" not in "".join(envconf.stderr) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert stop(envconf) == 7
    assert "workers: app.yaml:1='lots' (file)" in "".join(envconf.stderr)
    assert (site / "app.conf").read_text() == "workers=3\n"
