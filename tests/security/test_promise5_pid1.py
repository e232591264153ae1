"""Promise 5: as PID 1, envconf becomes the app without a trace.

After ``envconf render -- APP`` the app has envconf's PID (1 in a container), exactly the
argv it was given and exactly envconf's environment (compared byte for byte with
``/proc/self/cmdline`` and ``/proc/self/environ``, undecodable bytes included), default
signal dispositions and an empty mask whatever envconf inherited, and its own exit
status, death by a signal included. A SIGTERM while envconf is still rendering (held in
``--wait``) ends it promptly with 143 and nothing changed, also as PID 1, where the
kernel drops a signal that has no handler. A naive implementation fails each: running
the app as a child changes its PID and turns death by SIGTERM into an exit status; a
plain ``os.execvp`` passes on Python's ignored SIGPIPE; without a handler, PID 1 ignores
SIGTERM until the wait times out.

``tests/container/test_namespaces.py`` runs the same command in a full read-only jail;
here ``unshare --pid --fork`` alone makes envconf PID 1, so that nothing (no setup
shell) stands between the environment given and the one the app sees.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from .support import BASE_ENV

ENVCONF = [sys.executable, "-m", "envconf", "render"]

# The app: reports its PID and, as raw bytes, its argv and environment.
PROBE = r"""
import json, os
def raw(name):
    with open("/proc/self/" + name, "rb") as f:
        return f.read().hex()
print(json.dumps({"pid": os.getpid(), "cmdline": raw("cmdline"), "environ": raw("environ")}))
"""
ODD_ARGS: list[str | bytes] = [
    "", " two  words ", "line\nbreak", "$(touch pwned)", "--", "-c", "é", b"\xff\xfe", "a=b",
]  # fmt: skip
ODD_ENV: dict[str, str | bytes] = {
    "EMPTY": "",
    "MULTI": "line 1\nline 2",
    "EQUALS": "a=b=c",
    "NOT_UTF8": b"caf\xe9",
    "odd-name.with.dots": "1",
    "HOME": "/nowhere",
}


def raw(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else os.fsencode(value)


def entries(blob: bytes) -> list[bytes]:
    """NUL-terminated strings, as in /proc/PID/cmdline and /proc/PID/environ."""
    assert blob.endswith(b"\0")
    return blob[:-1].split(b"\0")


def environment() -> dict[bytes, bytes]:
    return {raw(k): raw(v) for k, v in {**BASE_ENV, **ODD_ENV}.items()}


def probe_command() -> list[str | bytes]:
    return [sys.executable, "-c", PROBE, *ODD_ARGS]


def report(stdout: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(stdout.decode().splitlines()[-1])
    data["cmdline"] = entries(bytes.fromhex(data["cmdline"]))
    data["environ"] = entries(bytes.fromhex(data["environ"]))
    return data


def assert_exactly_as_given(app: dict[str, Any]) -> None:
    assert app["cmdline"] == [raw(a) for a in probe_command()]
    given = environment()
    assert sorted(app["environ"]) == sorted(k + b"=" + v for k, v in given.items())


def test_the_app_keeps_the_pid_argv_and_environment_exactly(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*ENVCONF, "--", *probe_command()],
        cwd=tmp_path,
        env=environment(),  # type: ignore[arg-type]  # bytes are fine on POSIX
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    app = report(stdout)
    assert app["pid"] == proc.pid
    assert_exactly_as_given(app)
    assert not (tmp_path / "pwned").exists()


# Started by a careless parent: ignored and blocked signals that survive execve.
HOSTILE_PARENT = r"""
import os, signal, sys
for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGUSR2, signal.SIGALRM,
            signal.SIGCHLD, signal.SIGRTMIN, signal.SIGRTMAX):
    signal.signal(sig, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGTERM, signal.SIGRTMIN + 1})
os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
"""


def status_bits(stdout: str) -> dict[str, int]:
    fields = (line.split(":") for line in stdout.splitlines() if line.startswith("Sig"))
    return {name: int(value, 16) for name, value in fields}


def test_the_app_gets_default_dispositions_and_an_empty_mask_whatever_envconf_inherited(
    tmp_path: Path,
) -> None:
    app = ["grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"]  # not sh: it clears the mask
    control = subprocess.run(
        [sys.executable, "-c", HOSTILE_PARENT, "-c", "import os, sys; os.execvp(sys.argv[1], "
         "sys.argv[1:])", *app],
        cwd=tmp_path, env=BASE_ENV, capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    assert status_bits(control.stdout)["SigIgn"] != 0  # what a plain exec would pass on
    assert status_bits(control.stdout)["SigBlk"] != 0
    result = subprocess.run(
        [sys.executable, "-c", HOSTILE_PARENT, "-m", "envconf", "render", "--", *app],
        cwd=tmp_path, env=BASE_ENV, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert status_bits(result.stdout) == {"SigIgn": 0, "SigBlk": 0}


@pytest.mark.parametrize(
    ("script", "status"),
    [("exit 0", 0), ("exit 3", 3), ("exit 255", 255),
     ("kill -TERM $$", -signal.SIGTERM), ("kill -KILL $$", -signal.SIGKILL)],
    ids=["0", "3", "255", "killed-by-sigterm", "killed-by-sigkill"],
)  # fmt: skip
def test_the_exit_status_is_the_apps_own(script: str, status: int, tmp_path: Path) -> None:
    """Death by a signal stays death by that signal (a child would turn it into 143)."""
    result = subprocess.run(
        [*ENVCONF, "--", "sh", "-c", script], cwd=tmp_path, env=BASE_ENV, timeout=30, check=False
    )
    assert result.returncode == status


# --- as PID 1 of a PID namespace ---------------------------------------------------------------


def pid_namespace() -> list[str]:
    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0:
        pytest.skip("needs root and util-linux unshare for a PID namespace")
    prefix = [unshare, "--pid", "--fork", "--kill-child"]
    probe = subprocess.run([*prefix, "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"PID namespaces not permitted: {probe.stderr.decode().strip()}")
    return prefix


def child_of(parent: int, timeout: float = 5) -> int:
    """The PID of ``parent``'s child (unshare's: PID 1 inside), as seen from here."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rpartition(")")[2].split()
                except OSError:
                    continue
                if int(fields[1]) == parent:
                    return int(entry.name)
        time.sleep(0.01)
    raise AssertionError(f"{parent} started no child")


def test_as_pid_1_the_app_is_pid_1_with_exactly_its_argv_and_environment(tmp_path: Path) -> None:
    result = subprocess.run(
        [*pid_namespace(), *ENVCONF, "--", *probe_command()],
        cwd=tmp_path,
        env=environment(),  # type: ignore[arg-type]
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    app = report(result.stdout)
    assert app["pid"] == 1
    assert_exactly_as_given(app)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_as_pid_1_a_signal_while_rendering_exits_promptly_with_nothing_changed(
    signum: int, tmp_path: Path
) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "app.conf").write_text("old\n")
    (tmp_path / "app.conf.tmpl").write_text("new ${A}\n")
    argv = [
        *pid_namespace(), *ENVCONF, "--wait", "file:///nonexistent", "--timeout", "60",
        "-t", "app.conf.tmpl:out/app.conf", "--", "sh", "-c", "echo the app ran",
    ]  # fmt: skip
    proc = subprocess.Popen(
        argv, cwd=tmp_path, env={**BASE_ENV, "A": "1"}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()  # envconf is in its render phase, waiting
        assert line.startswith("envconf: waiting up to 60 s for file:///nonexistent"), line
        pid_1 = child_of(proc.pid)
        sent = time.monotonic()
        os.kill(pid_1, signum)
        stdout, stderr = proc.communicate(timeout=10)
        elapsed = time.monotonic() - sent
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 128 + signum, stderr
    assert elapsed < 2
    assert stdout == ""  # the app never ran
    assert f"stopped by {signal.Signals(signum).name} before the app started" in stderr
    assert "Traceback" not in stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["app.conf"]
    assert (tmp_path / "out" / "app.conf").read_text() == "old\n"
