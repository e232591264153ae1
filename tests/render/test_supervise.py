"""Tests for ``envconf render --init`` (envconf.render.supervise), run as a real process.

Here envconf is not PID 1, so it registers as a child subreaper: orphans are re-parented
to it all the same, which is what the reaping test checks. The namespace tier
(tests/container/test_watch_namespaces.py) runs the same as PID 1.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from envconf.render.supervise import FORWARDED, exit_status, forwarded_signals

SRC = str(Path(__import__("envconf").__file__).resolve().parents[1])
BASE_ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "PYTHONPATH": SRC}

# Prints the app's signal state as the kernel sees it, with shell builtins only.
SIGNAL_STATE = (
    "while read -r l; do case $l in SigIgn*|SigBlk*) echo $l;; esac; done </proc/self/status"
)

# An app that reports every signal it gets, and exits 0 on SIGTERM.
REPORTER = """
import os, signal, sys
names = sys.argv[1:]
def report(signum, frame):  # os.write: a handler may interrupt another one's output
    os.write(1, f"got {signal.Signals(signum).name}\\n".encode())
    if signum == signal.SIGTERM:
        os._exit(0)
for name in names:
    signal.signal(getattr(signal, name), report)
print("ready", flush=True)
while True:
    signal.pause()
"""


class Envconf:
    """``python -m envconf render ARGS`` as a running process, its output read as it comes."""

    def __init__(self, args: list[str], *, env: dict[str, str] | None = None, cwd: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "envconf", "render", *args],
            env={**BASE_ENV, **(env or {})},
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(stream, into), daemon=True)
            for stream, into in ((self.process.stdout, self.stdout), (self.process.stderr, None))
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: object, into: list[str] | None) -> None:
        for line in stream:  # type: ignore[attr-defined]
            if into is None:
                self.stderr.append(line)
            else:
                into.append(line.rstrip("\n"))
                self.lines.put(line.rstrip("\n"))

    def wait_line(self, prefix: str, timeout: float = 5.0) -> str:
        """Return the next stdout line starting with ``prefix`` (earlier lines are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(remaining, 0.001))
            except queue.Empty:
                raise AssertionError(
                    f"no line {prefix!r}; stdout {self.stdout!r}; stderr {''.join(self.stderr)!r}"
                ) from None
            if line.startswith(prefix):
                return line

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def finish(self, timeout: float = 5.0) -> int:
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        for reader in self._readers:
            reader.join(timeout)
        return code

    def __enter__(self) -> Envconf:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def render(
    *args: str, env: dict[str, str] | None = None, cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envconf", "render", *args],
        env={**BASE_ENV, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )


def py(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def test_forwarded_signals_are_the_catchable_asynchronous_ones() -> None:
    assert forwarded_signals() == FORWARDED
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        assert signum in FORWARDED
    for signum in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH, signal.SIGRTMIN):
        assert signum in FORWARDED
    for signum in (signal.SIGCHLD, signal.SIGKILL, signal.SIGSTOP, signal.SIGPIPE):
        assert signum not in FORWARDED
    assert signal.SIGSEGV not in FORWARDED and signal.SIGTTOU not in FORWARDED


def test_exit_status_is_128_plus_the_signal_that_killed() -> None:
    assert exit_status(3 << 8) == 3
    assert exit_status(signal.SIGKILL) == 128 + 9


def test_the_app_runs_as_a_child_and_its_status_passes_through(tmp_path: Path) -> None:
    (tmp_path / "a.conf.tmpl").write_text("name=${NAME}\n")
    script = 'cat a.conf; echo "parent=$PPID"; exit 3'
    result = render(
        "--init", "-t", "a.conf.tmpl", "--", "sh", "-c", script, env={"NAME": "web"}, cwd=tmp_path
    )
    assert result.returncode == 3, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "name=web"
    assert lines[1] != f"parent={os.getpid()}"  # envconf is the parent, not this test
    assert "envconf: rendered 1 file(s)" in result.stderr


def test_an_app_killed_by_a_signal_exits_128_plus_n(tmp_path: Path) -> None:
    result = render("--init", "--", "sh", "-c", "kill -KILL $$", cwd=tmp_path)
    assert result.returncode == 128 + signal.SIGKILL


def test_the_app_gets_default_signals_and_its_own_process_group(tmp_path: Path) -> None:
    check = "import os; print('own group', os.getpgrp() == os.getpid() != os.getppid())"
    script = f'{SIGNAL_STATE}; exec "$0" -c "{check}"'
    result = render("--init", "--", "sh", "-c", script, sys.executable, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "SigBlk: 0000000000000000",
        "SigIgn: 0000000000000000",
        "own group True",
    ]


def test_every_catchable_signal_reaches_the_app(tmp_path: Path) -> None:
    names = ["SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH", "SIGALRM", "SIGTERM"]
    with Envconf(["--init", "--", *py(REPORTER), *names], cwd=tmp_path) as envconf:
        envconf.wait_line("ready")
        for name in names:
            envconf.signal(getattr(signal, name))
            assert envconf.wait_line("got") == f"got {name}"
        assert envconf.finish() == 0


def test_sigterm_to_an_app_without_a_handler_ends_it_with_143(tmp_path: Path) -> None:
    app = py("import time; print('ready', flush=True); time.sleep(30)")
    with Envconf(["--init", "--", *app], cwd=tmp_path) as envconf:
        envconf.wait_line("ready")
        start = time.monotonic()
        envconf.signal(signal.SIGTERM)
        assert envconf.finish() == 128 + signal.SIGTERM
    assert time.monotonic() - start < 2


ORPHANS = """
import os, subprocess, time

def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return fields[0], int(fields[1])  # state, ppid

envconf = os.getppid()
orphan = 'sleep 0.1; read -r _ _ _ ppid _ </proc/self/stat; echo "orphan ppid $ppid"'
subprocess.run(["sh", "-c", f"sh -c '{orphan}' &"], check=True)  # its parent exits at once
time.sleep(0.5)  # the orphan reports and exits meanwhile
print("envconf", envconf, flush=True)
zombies = []
for entry in os.listdir("/proc"):
    if entry.isdigit():
        try:
            state, ppid = stat(entry)
        except OSError:
            continue
        if state == "Z" and ppid == envconf:
            zombies.append(entry)
print("zombies left:", zombies, flush=True)
"""


def test_orphaned_grandchildren_are_reaped(tmp_path: Path) -> None:
    result = render("--init", "--", *py(ORPHANS), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    orphan, envconf, zombies = result.stdout.splitlines()
    assert orphan == f"orphan ppid {envconf.split()[1]}"  # adopted by envconf, the subreaper
    assert zombies == "zombies left: []"


def test_missing_command_exits_127_and_nothing_starts(tmp_path: Path) -> None:
    result = render("--init", "--", "no-such-app", cwd=tmp_path)
    assert result.returncode == 127
    assert "envconf: no-such-app: command not found" in result.stderr


def test_a_script_without_interpreter_line_exits_126(tmp_path: Path) -> None:
    (tmp_path / "app").write_text("echo hi\n")
    (tmp_path / "app").chmod(0o755)
    result = render("--init", "--", "./app", cwd=tmp_path)
    assert result.returncode == 126
    assert "exec format error" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--init"], "--init needs a COMMAND"),
        (["--init", "--check", "--", "true"], "cannot be combined with --check"),
        (
            ["--reload-signal", "USR1", "--", "true"],
            "--reload-signal / ENVCONF_RELOAD_SIGNAL needs",
        ),
        (["--init", "--poll-interval", "1", "--", "true"], "--poll-interval"),
        (["--watch", "--reload-signal", "NOPE", "--", "true"], "is not a signal"),
        (["--watch", "--poll-interval", "0", "--", "true"], "from 0.01 to 3600"),
        (["--watch", "--reload-command", "'", "--", "true"], "--reload-command"),
        (
            ["--watch", "--reload-command", "x", "--reload-signal", "HUP", "--", "true"],
            "not both",
        ),
    ],
)
def test_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = render(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr


def test_init_can_be_set_by_environment_variable(tmp_path: Path) -> None:
    result = render("--", "sh", "-c", "echo $PPID", env={"ENVCONF_INIT": "true"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() != str(os.getpid())


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_with_user_only_the_app_drops_privileges(tmp_path: Path) -> None:
    script = (
        'echo "$(id -u) $(id -g) $HOME"; '
        'while read -r k v rest; do [ "$k" = Uid: ] && echo "envconf $v"; '
        "done </proc/$PPID/status; exit 0"
    )
    tmp_path.chmod(0o755)
    result = render("--init", "--user", "10001:10001", "--", "/bin/sh", "-c", script, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["10001 10001 /", "envconf 0"]
