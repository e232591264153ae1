"""The namespace tier: envconf as PID 1 with a read-only root, for real.

Two sets of tests share the jail from :mod:`nsjail`:

* ``TestStandIn`` runs a few-line stand-in for ``envconf render -- app`` that calls
  ``envconf.render.wait``, ``.privileges`` and ``.process`` exactly as the command will;
* ``TestRenderCommand`` runs the real ``python -m envconf render ... -- app``.

The app is a probe (:func:`nsjail.probe_argv`) that reports its PID, ids, inherited
signal state, what it could read and write, and exits gracefully on SIGTERM.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest

from .nsjail import (
    Jail,
    jail_env,
    namespaces_unavailable,
    parse_probe,
    probe_argv,
    run_jailed,
    start_jail,
    unprivileged_python,
)

pytestmark = [
    pytest.mark.namespaces,
    pytest.mark.skipif(namespaces_unavailable() is not None, reason=namespaces_unavailable() or ""),
]

SECRET = "s3cret-from-tmpfs"

# A stand-in for `envconf render [--wait URL] [--user SPEC] -- COMMAND...`. It first
# ignores SIGHUP and blocks SIGUSR1, as a careless parent might have, on top of what
# Python itself does (SIGPIPE and SIGXFSZ ignored): the app must inherit none of it.
STAND_IN = """
import os, signal, sys
from envconf.errors import EnvconfError
from envconf.render.privileges import drop_privileges
from envconf.render.process import exec_command
from envconf.render.wait import wait_for

signal.signal(signal.SIGHUP, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
split = sys.argv.index("--")
options, command = sys.argv[1:split], sys.argv[split + 1:]
waits = [o[len("--wait="):] for o in options if o.startswith("--wait=")]
users = [o[len("--user="):] for o in options if o.startswith("--user=")]
env = dict(os.environ)
print(f"envconf pid {os.getpid()}", file=sys.stderr, flush=True)
try:
    wait_for(waits, 5, lambda line: print(f"envconf: {line}", file=sys.stderr))
    for user in users:
        drop_privileges(user, env)
    exec_command(command, env)
except EnvconfError as err:
    sys.stderr.write(err.format() + "\\n")
    sys.exit(err.exit_code)
"""


def stand_in(*command: str, user: str | None = None, wait: tuple[str, ...] = ()) -> list[str]:
    options = [f"--wait={url}" for url in wait] + ([f"--user={user}"] if user else [])
    return [sys.executable, "-c", STAND_IN, *options, "--", *command]


def ns_pid(host_pid: int) -> int:
    """Return ``host_pid``'s PID in its own (innermost) PID namespace."""
    for line in Path(f"/proc/{host_pid}/status").read_text().splitlines():
        if line.startswith("NSpid:"):
            return int(line.split()[-1])
    raise AssertionError("no NSpid line")


def terminate_gracefully(jail: Jail) -> tuple[float, int, str]:
    """Wait for the probe's "ready", SIGTERM PID 1, return (seconds, status, stdout)."""
    jail.wait_for_line("ready")
    start = time.monotonic()
    jail.signal(signal.SIGTERM)
    result = jail.finish(timeout=5)
    return time.monotonic() - start, result.returncode, result.stdout


def needs_unprivileged_python() -> str:
    python = unprivileged_python()
    if python is None:
        pytest.skip("no Python interpreter that uid 10001 may run")
    return python


class TestHarness:
    def test_command_runs_as_pid_1_with_a_fresh_proc(self) -> None:
        result = run_jailed(["/bin/sh", "-c", 'echo "$$ $PPID" /proc/[0-9]*'])
        assert result.returncode == 0, result.stderr
        assert result.stdout == "1 0 /proc/1\n"  # no process but PID 1 in this /proc

    def test_uid_option_runs_the_command_unprivileged(self) -> None:
        python = needs_unprivileged_python()
        result = run_jailed(probe_argv(python=python), uid=10001, gid=10002)
        report = parse_probe(result.stdout)
        assert (report["uid"], report["gid"], report["groups"]) == (10001, 10002, [])

    def test_nothing_is_left_mounted_or_staged_on_the_host(self) -> None:
        with start_jail(["/bin/true"], secrets={"a": "b"}) as jail:
            jail.finish()
            stage = jail.stage
        assert not stage.exists()
        assert str(stage) not in Path("/proc/self/mountinfo").read_text()


class TestStandIn:
    """envconf's exec, privilege drop and wait modules, run as PID 1 in the jail."""

    def test_app_is_pid_1_with_envconfs_pid(self) -> None:
        with start_jail(stand_in(*probe_argv("term"))) as jail:
            jail.wait_for_line("ready")
            init = jail.init_pid()
            assert ns_pid(init) == 1
            assert "-c" in Path(f"/proc/{init}/cmdline").read_text()  # the probe by now
            jail.signal(signal.SIGTERM)
            result = jail.finish()
        assert "envconf pid 1\n" in result.stderr
        assert parse_probe(result.stdout)["pid"] == 1

    def test_app_inherits_default_signal_dispositions_and_empty_mask(self) -> None:
        result = run_jailed(stand_in(*probe_argv()))
        assert result.returncode == 0, result.stderr
        assert parse_probe(result.stdout)["signals"] == {"SigIgn": 0, "SigBlk": 0}

    def test_sigterm_to_pid_1_ends_the_app_gracefully(self) -> None:
        with start_jail(stand_in(*probe_argv("term"))) as jail:
            seconds, status, stdout = terminate_gracefully(jail)
        assert status == 0
        assert stdout.endswith("ready\ngraceful\n")
        assert seconds < 2

    def test_app_exit_status_passes_through(self) -> None:
        result = run_jailed(stand_in(*probe_argv("exit=42")))
        assert result.returncode == 42, result.stderr

    def test_secrets_come_from_the_tmpfs_mount(self) -> None:
        result = run_jailed(
            stand_in(*probe_argv("read=/run/secrets/db_password", "read=/proc/self/mountinfo")),
            secrets={"db_password": SECRET},
        )
        reads = parse_probe(result.stdout)["reads"]
        assert reads["/run/secrets/db_password"] == SECRET
        mount = next(
            line.split()
            for line in reads["/proc/self/mountinfo"].splitlines()
            if line.split()[4] == "/run/secrets"
        )
        assert mount[5].startswith("ro")
        assert mount[mount.index("-") + 1] == "tmpfs"

    def test_root_is_read_only_and_only_the_output_dir_is_writable(self) -> None:
        targets = ["/etc/envconf-probe", "/probe", "/run/probe", "/run/secrets/probe"]
        result = run_jailed(
            stand_in(*probe_argv(*(f"write={t}" for t in [*targets, "/run/out/probe"]))),
            secrets={"db_password": SECRET},
        )
        writes = parse_probe(result.stdout)["writes"]
        assert writes == {**dict.fromkeys(targets, "error: Read-only file system"),
                          "/run/out/probe": "ok"}  # fmt: skip

    def test_user_drop_runs_the_app_as_10001_with_home(self) -> None:
        python = needs_unprivileged_python()
        result = run_jailed(
            stand_in(
                *probe_argv("read=/run/secrets/db_password", python=python), user="10001:10001"
            ),
            secrets={"db_password": SECRET},
            secret_mode=0o400,
        )
        report = parse_probe(result.stdout)
        assert (report["uid"], report["gid"], report["groups"]) == (10001, 10001, [10001])
        assert report["home"] == "/"
        assert report["reads"]["/run/secrets/db_password"] == "error: Permission denied"
        assert report["pid"] == 1

    def test_wait_for_a_mounted_secret_then_exec(self) -> None:
        result = run_jailed(
            stand_in(*probe_argv(), wait=("file:///run/secrets/db_password",)),
            secrets={"db_password": SECRET},
        )
        assert result.returncode == 0, result.stderr
        assert "envconf: file:///run/secrets/db_password is up" in result.stderr

    def test_missing_command_exits_127(self) -> None:
        result = run_jailed(stand_in("no-such-app"))
        assert result.returncode == 127
        assert "envconf: no-such-app: command not found\n" in result.stderr

    def test_non_executable_command_exits_126(self, tmp_path: Path) -> None:
        (tmp_path / "app").write_text("#!/bin/sh\n")  # mode 0644, seen through the rebind
        result = run_jailed(stand_in(f"{tmp_path}/app"))
        assert result.returncode == 126
        assert f"envconf: {tmp_path}/app: permission denied" in result.stderr


def render(*args: str) -> list[str]:
    return [sys.executable, "-m", "envconf", "render", *args]


class TestRenderCommand:
    """The real ``envconf render ... -- app`` as PID 1 (the contract's namespace tier)."""

    @pytest.fixture
    def templates(self, tmp_path: Path) -> Path:
        folder = tmp_path / "templates"
        folder.mkdir()
        (folder / "app.conf.j2").write_text("password={{ DB_PASSWORD }}\n")
        (folder / "site.conf.template").write_text("listen ${PORT};\nhost $host;\n")
        return folder

    @staticmethod
    def env() -> dict[str, str]:
        return jail_env(DB_PASSWORD_FILE="/run/secrets/db_password", PORT="8080")

    def test_renders_then_execs_the_app_as_pid_1_with_default_signals(
        self, templates: Path
    ) -> None:
        argv = render(
            "-t", f"{templates}/app.conf.j2:/run/out/app.conf",
            "--", *probe_argv("read=/run/out/app.conf"),
        )  # fmt: skip
        result = run_jailed(argv, secrets={"db_password": SECRET}, env=self.env())
        assert result.returncode == 0, result.stderr
        report = parse_probe(result.stdout)
        assert report["pid"] == 1
        assert report["signals"] == {"SigIgn": 0, "SigBlk": 0}
        assert report["reads"]["/run/out/app.conf"] == f"password={SECRET}\n"

    def test_user_renders_root_only_secrets_for_an_unprivileged_app(self, templates: Path) -> None:
        python = needs_unprivileged_python()
        argv = render(
            "--user", "10001:10001",
            "-t", f"{templates}/app.conf.j2:/run/out/app.conf",
            "--", *probe_argv(
                "read=/run/out/app.conf", "read=/run/secrets/db_password", python=python
            ),
        )  # fmt: skip
        result = run_jailed(
            argv, secrets={"db_password": SECRET}, secret_mode=0o400, env=self.env()
        )
        assert result.returncode == 0, result.stderr
        report = parse_probe(result.stdout)
        assert (report["pid"], report["uid"], report["gid"]) == (1, 10001, 10001)
        assert report["home"] == "/"
        assert report["reads"] == {
            "/run/out/app.conf": f"password={SECRET}\n",
            "/run/secrets/db_password": "error: Permission denied",
        }

    def test_sigterm_to_pid_1_ends_the_app_gracefully(self, templates: Path) -> None:
        argv = render("-t", f"{templates}/app.conf.j2:/run/out/app.conf", "--", *probe_argv("term"))
        with start_jail(argv, secrets={"db_password": SECRET}, env=self.env()) as jail:
            seconds, status, stdout = terminate_gracefully(jail)
        assert status == 0
        assert stdout.endswith("ready\ngraceful\n")
        assert seconds < 2

    def test_template_dir_writes_only_into_the_output_dir(self, templates: Path) -> None:
        before = sorted(p.name for p in templates.iterdir())
        argv = render(
            "--template-dir", str(templates), "--output-dir", "/run/out",
            "--", *probe_argv("read=/run/out/app.conf", "read=/run/out/site.conf"),
        )  # fmt: skip
        result = run_jailed(argv, secrets={"db_password": SECRET}, env=self.env())
        assert result.returncode == 0, result.stderr
        assert parse_probe(result.stdout)["reads"] == {
            "/run/out/app.conf": f"password={SECRET}\n",
            "/run/out/site.conf": "listen 8080;\nhost $host;\n",
        }
        assert sorted(p.name for p in templates.iterdir()) == before

    def test_a_failed_render_changes_nothing_and_starts_no_app(self, templates: Path) -> None:
        (templates / "broken.conf.j2").write_text("{{ NOT_DEFINED }}\n")
        script = (
            'echo keep > /run/out/app.conf; "$@"; echo "status=$?"; '
            "ls -A /run/out; cat /run/out/app.conf"
        )
        argv = render(
            "--template-dir", str(templates), "--output-dir", "/run/out",
            "--", *probe_argv(),
        )  # fmt: skip
        result = run_jailed(
            ["/bin/sh", "-c", script, "sh", *argv],
            secrets={"db_password": SECRET},
            env=self.env(),
        )
        assert "REPORT" not in result.stdout
        assert result.stdout.splitlines() == ["status=1", "app.conf", "keep"]
        assert "broken.conf.j2" in result.stderr
        assert "NOT_DEFINED" in result.stderr

    def test_missing_command_exits_127(self) -> None:
        result = run_jailed(render("--", "no-such-app"), env=self.env())
        assert result.returncode == 127
        assert "no-such-app" in result.stderr

    def test_non_executable_command_exits_126(self, tmp_path: Path) -> None:
        (tmp_path / "app").write_text("#!/bin/sh\n")
        result = run_jailed(render("--", f"{tmp_path}/app"), env=self.env())
        assert result.returncode == 126
        assert f"{tmp_path}/app" in result.stderr
