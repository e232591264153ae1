"""End-to-end tests of ``envconf render`` run as a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

CANARY = "canary-Zq7sW3xK9"
BASE_ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}


def run(
    args: list[str], env: dict[str, str], cwd: Path, **kw: object
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envconf", "render", *args],
        env={**BASE_ENV, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "tpl" / "sub").mkdir(parents=True)
    (tmp_path / "out").mkdir()
    (tmp_path / "tpl" / "nginx.conf.template").write_text(
        "server {\n  listen ${PORT};\n  server_name $host;\n  root ${ROOT:-/srv};\n}\n"
    )
    (tmp_path / "tpl" / "sub" / "app.yaml.j2").write_text(
        "name: {{ NAME }}\nport: {{ env.PORT }}\n"
    )
    return tmp_path


def test_renders_a_template_tree_with_both_engines(tree: Path) -> None:
    result = run(
        ["--template-dir", "tpl", "--output-dir", "out"], {"PORT": "80", "NAME": "web"}, tree
    )
    assert result.returncode == 0, result.stderr
    assert (tree / "out" / "nginx.conf").read_text() == (
        "server {\n  listen 80;\n  server_name $host;\n  root /srv;\n}\n"
    )
    assert (tree / "out" / "sub" / "app.yaml").read_text() == "name: web\nport: 80\n"
    assert result.stdout == ""


def test_a_restart_leaves_outputs_that_already_match_untouched(tree: Path) -> None:
    # A container restarted keeps its files: those already right keep their inode.
    args = ["--template-dir", "tpl", "--output-dir", "out"]
    first = run(args, {"PORT": "80", "NAME": "web"}, tree)
    assert first.returncode == 0, first.stderr
    assert first.stderr.strip().endswith("rendered 2 file(s)")
    inodes = {p: p.stat().st_ino for p in (tree / "out").rglob("*") if p.is_file()}
    again = run(args, {"PORT": "80", "NAME": "api"}, tree)
    assert again.returncode == 0, again.stderr
    assert again.stderr.strip().endswith("rendered 2 file(s), 1 unchanged")
    assert (tree / "out" / "nginx.conf").stat().st_ino == inodes[tree / "out" / "nginx.conf"]
    app = tree / "out" / "sub" / "app.yaml"
    assert app.stat().st_ino != inodes[app]
    assert app.read_text() == "name: api\nport: 80\n"


def test_every_problem_is_reported_and_no_file_changes(tree: Path) -> None:
    (tree / "out" / "nginx.conf").write_text("old\n")
    (tree / "tpl" / "bad.conf.tmpl").write_text("a ${A:?must be set}\nb ${B:?also}\n")
    result = run(["--template-dir", "tpl", "--output-dir", "out"], {"PORT": "80"}, tree)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "bad.conf.tmpl:1" in result.stderr and "A" in result.stderr
    assert "bad.conf.tmpl:2" in result.stderr
    assert "app.yaml.j2:1: NAME" in result.stderr
    assert (tree / "out" / "nginx.conf").read_text() == "old\n"
    assert not (tree / "out" / "sub").exists()


def test_check_renders_and_writes_nothing(tree: Path) -> None:
    result = run(
        ["--check", "--template-dir", "tpl", "--output-dir", "out"],
        {"PORT": "1", "NAME": "x"},
        tree,
    )
    assert result.returncode == 0, result.stderr
    assert "would write" in result.stderr
    assert list((tree / "out").iterdir()) == []


def test_mode_sets_exact_permissions_under_any_umask(tree: Path) -> None:
    result = run(
        ["--mode", "0640", "-t", "tpl/nginx.conf.template:out/n.conf"],
        {"PORT": "1"},
        tree,
        preexec_fn=lambda: os.umask(0),
    )
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE((tree / "out" / "n.conf").stat().st_mode) == 0o640


def test_options_come_from_envconf_variables_and_flags_win(tree: Path) -> None:
    env = {"PORT": "1", "NAME": "n", "ENVCONF_TEMPLATE_DIR": "tpl", "ENVCONF_OUTPUT_DIR": "nowhere"}
    result = run(["--output-dir", "out"], env, tree)
    assert result.returncode == 0, result.stderr
    assert (tree / "out" / "nginx.conf").exists()


def test_filter_limits_replacement_like_nginx(tree: Path) -> None:
    (tree / "tpl" / "f.tmpl").write_text("$NGINX_A $OTHER ${OTHER:-x}\n")
    env = {"NGINX_A": "1", "OTHER": "2"}
    result = run(["--filter", "^NGINX_", "-t", "tpl/f.tmpl:out/f"], env, tree)
    assert result.returncode == 0, result.stderr
    assert (tree / "out" / "f").read_text() == "1 $OTHER ${OTHER:-x}\n"


def test_strict_rejects_undefined_braced_but_keeps_bare_names(tree: Path) -> None:
    (tree / "tpl" / "s.tmpl").write_text("$host ${UNSET}\n")
    result = run(["--strict", "-t", "tpl/s.tmpl:out/s"], {}, tree)
    assert result.returncode == 1
    assert "s.tmpl:1" in result.stderr and "UNSET" in result.stderr
    assert "host" not in result.stderr.replace("s.tmpl", "")


def test_exec_passes_the_exit_status_through(tree: Path) -> None:
    result = run(["--", "sh", "-c", "exit 7"], {}, tree)
    assert result.returncode == 7


def test_command_not_found_is_127_and_not_executable_is_126(tree: Path) -> None:
    assert run(["--", "no-such-command-xyz"], {}, tree).returncode == 127
    script = tree / "noexec.sh"
    script.write_text("#!/bin/sh\n")
    result = run(["--", str(script)], {}, tree)
    assert result.returncode == 126
    assert "noexec.sh" in result.stderr


def test_app_keeps_pid_and_gets_default_signal_dispositions(tree: Path) -> None:
    result = run(["--", "sh", "-c", "echo $$; grep -E '^Sig(Ign|Blk)' /proc/self/status"], {}, tree)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("\n")
    assert lines[1].split() == ["SigBlk:", "0000000000000000"]
    assert lines[2].split() == ["SigIgn:", "0000000000000000"]


def test_var_file_provides_var_and_never_leaks_on_failure(tree: Path) -> None:
    secret = tree / "pw"
    secret.write_text(CANARY + "\n")
    (tree / "tpl" / "db.conf.tmpl").write_text("password=${DB_PASSWORD}\n")
    ok = run(["-t", "tpl/db.conf.tmpl:out/db.conf"], {"DB_PASSWORD_FILE": str(secret)}, tree)
    assert ok.returncode == 0, ok.stderr
    assert (tree / "out" / "db.conf").read_text() == f"password={CANARY}\n"
    (tree / "tpl" / "bad.j2").write_text(
        "{{ DB_PASSWORD }}\n{{ DB_PASSWORD + 1 }}\n{{ MISSING }}\n"
    )
    bad = run(["-t", "tpl/bad.j2:out/bad"], {"DB_PASSWORD_FILE": str(secret)}, tree)
    assert bad.returncode == 1
    assert CANARY not in bad.stdout + bad.stderr
    both = run(
        ["-t", "tpl/db.conf.tmpl:out/db.conf"],
        {"DB_PASSWORD_FILE": str(secret), "DB_PASSWORD": CANARY},
        tree,
    )
    assert both.returncode == 1
    assert CANARY not in both.stdout + both.stderr


def test_unrelated_file_variables_are_never_opened(tree: Path) -> None:
    (tree / "tpl" / "x.tmpl").write_text("${PORT}\n")
    env = {"PORT": "1", "LOG_FILE": "/dev/zero-does-not-exist", "PID_FILE": str(tree)}
    result = run(["-t", "tpl/x.tmpl:out/x"], env, tree)
    assert result.returncode == 0, result.stderr


def test_render_without_settings_does_not_import_pydantic_yaml_or_jinja(tree: Path) -> None:
    code = (
        "import sys, runpy\n"
        "sys.argv = ['envconf', 'render', '-t', 'tpl/nginx.conf.template:out/n']\n"
        "from envconf.cli import main\n"
        "rc = main(sys.argv[1:])\n"
        "heavy = ('pydantic', 'pydantic_settings', 'yaml', 'jinja2')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in heavy)\n"
        "print(rc, bad)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**BASE_ENV, "PORT": "1"},
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.strip() == "0 []", result.stderr


def test_settings_are_available_to_jinja_templates(tree: Path) -> None:
    (tree / "appsettings.py").write_text(
        "import envconf\n"
        "class S(envconf.Settings):\n"
        "    model_config = envconf.SettingsConfigDict(env_prefix='APP_', secrets_dir=None)\n"
        "    port: int = 8000\n"
    )
    (tree / "tpl" / "s.conf.j2").write_text("port={{ settings.port + 1 }}\n")
    result = run(
        ["--settings", "appsettings:S", "-t", "tpl/s.conf.j2:out/s.conf"], {"APP_PORT": "41"}, tree
    )
    assert result.returncode == 0, result.stderr
    assert (tree / "out" / "s.conf").read_text() == "port=42\n"
    bad = run(
        ["--settings", "appsettings:S", "-t", "tpl/s.conf.j2:out/s.conf"], {"APP_PORT": "x"}, tree
    )
    assert bad.returncode == 1
    assert "APP_PORT" in bad.stderr


def test_wait_names_every_dependency_that_never_came_up(tree: Path) -> None:
    result = run(
        [
            "--wait",
            "file:///nonexistent/a",
            "--wait",
            "tcp://127.0.0.1:9",
            "--timeout",
            "1",
            "--",
            "true",
        ],
        {},
        tree,
    )
    assert result.returncode == 1
    assert "/nonexistent/a" in result.stderr and "127.0.0.1:9" in result.stderr


def test_sigterm_before_exec_ends_promptly_with_nothing_changed(tree: Path) -> None:
    (tree / "out" / "nginx.conf").write_text("old\n")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "envconf",
            "render",
            "--wait",
            "file:///nonexistent",
            "--timeout",
            "60",
            "--template-dir",
            "tpl",
            "--output-dir",
            "out",
            "--",
            "true",
        ],
        env={**BASE_ENV, "PORT": "1", "NAME": "x"},
        cwd=tree,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    # Signal only once envconf says it is waiting: its handler is installed by then (a
    # fixed sleep would race a slow start and see the default action, -15).
    assert "waiting up to 60 s" in proc.stderr.readline()
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)
    assert proc.returncode == 128 + signal.SIGTERM
    assert time.monotonic() - started < 5
    assert (tree / "out" / "nginx.conf").read_text() == "old\n"


def test_unknown_option_is_a_usage_error(tree: Path) -> None:
    result = run(["--nope"], {}, tree)
    assert result.returncode == 2
    assert "--nope" in result.stderr


def test_check_format_json_reports_outputs_or_every_problem(tree: Path) -> None:
    ok = run(["--check", "--format", "json", "--template-dir", "tpl", "--output-dir", "out"],
             {"PORT": "80", "NAME": "x"}, tree)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    doc = json.loads(ok.stdout)
    assert doc["ok"] is True and doc["problems"] == []
    dests = sorted(Path(o["dest"]).name for o in doc["outputs"])
    assert dests == ["app.yaml", "nginx.conf"]
    bad = run(["--check", "--format", "json", "--template-dir", "tpl", "--output-dir", "out"],
              {}, tree)  # fmt: skip
    assert bad.returncode == 1
    doc = json.loads(bad.stdout)
    assert doc["ok"] is False and doc["outputs"] == []
    assert all({"key", "message", "source", "location"} <= set(p) for p in doc["problems"])
    assert doc["problems"], bad.stdout


def test_format_json_without_check_is_a_usage_error(tree: Path) -> None:
    result = run(["--format", "json", "--template-dir", "tpl", "--output-dir", "out"], {}, tree)
    assert result.returncode == 2
    assert "--format json goes with --check" in result.stderr


def test_an_empty_template_dir_warns_and_fails_under_strict(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "out").mkdir()
    loose = run(["--template-dir", "empty", "--output-dir", "out"], {}, tmp_path)
    assert loose.returncode == 0
    assert "warning: template dir empty holds no template (is it mounted?)" in loose.stderr
    strict = run(["--strict", "--template-dir", "empty", "--output-dir", "out"], {}, tmp_path)
    assert strict.returncode == 1
    assert "--strict makes this an error" in strict.stderr
