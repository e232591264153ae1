"""The namespace tier for ``envconf render --watch`` and ``--init``: envconf as PID 1.

The jail (:mod:`nsjail`) runs ``envconf render`` as PID 1 of a fresh PID namespace with a
read-only root. A ConfigMap volume is simulated on the host, in the layout the kubelet
uses (``..2026_11_28_10_00_00.123/``, ``..data`` linking to it, visible names linking into
``..data``) and updated the way the kubelet does it: a new timestamped directory, a
``..data_tmp`` link renamed over ``..data``. The jail sees the host's files through its
read-only bind of ``/``; envconf writes into the jail's writable ``/run/out``.
"""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import time
from pathlib import Path

import pytest

from .nsjail import Jail, jail_env, namespaces_unavailable, start_jail

pytestmark = [
    pytest.mark.namespaces,
    pytest.mark.skipif(namespaces_unavailable() is not None, reason=namespaces_unavailable() or ""),
]

POLL = ["--poll-interval", "0.05"]

# The app: says where it runs, "HUP <file>" / "USR1 <file>" with the rendered file as it
# reads it at that moment, "graceful" and exit 5 on SIGTERM.
APP = """
import os, signal, sys
path = sys.argv[1]
def say(text):
    os.write(1, (text + "\\n").encode())  # not print: a handler may interrupt another
def show(signum, frame):
    with open(path) as f:
        say(signal.Signals(signum).name[3:] + " " + f.read().strip())
def graceful(signum, frame):
    say("graceful")
    os._exit(5)
signal.signal(signal.SIGHUP, show)
signal.signal(signal.SIGUSR1, show)
signal.signal(signal.SIGTERM, graceful)
say(f"ready ppid={os.getppid()}")
while True:
    signal.pause()
"""

# An app that leaves an orphan, which the kernel re-parents to PID 1 (envconf), waits
# until it has exited, then lists every zombie left in the namespace.
ORPHANS = """
import os, subprocess, time
orphan = 'sleep 0.1; read -r _ _ _ ppid _ </proc/self/stat; echo "orphan ppid $ppid"'
subprocess.run(["sh", "-c", f"sh -c '{orphan}' &"], check=True)  # its parent exits at once
time.sleep(0.5)  # the orphan reports and exits meanwhile
zombies = []
for entry in os.listdir("/proc"):
    if entry.isdigit():
        try:
            with open(f"/proc/{entry}/status") as f:
                if "State:\\tZ" in f.read():
                    zombies.append(entry)
        except OSError:
            pass
print("zombies", zombies, flush=True)
"""


def app(*args: str, code: str = APP) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code), *args]


def render(*args: str) -> list[str]:
    return [sys.executable, "-m", "envconf", "render", *args]


class ConfigMap:
    """A ConfigMap volume on the host, updated atomically like the kubelet does."""

    def __init__(self, root: Path, files: dict[str, str]) -> None:
        self.root = root
        root.mkdir(parents=True)
        root.chmod(0o755)
        self.generation = 0
        self.swap(files)
        for name in files:
            (root / name).symlink_to(f"..data/{name}")

    def swap(self, files: dict[str, str]) -> None:
        self.generation += 1
        stamp = f"..2026_11_28_10_00_{self.generation:02d}.123"
        (self.root / stamp).mkdir(mode=0o755)
        for name, text in files.items():
            (self.root / stamp / name).write_text(text)
        (self.root / "..data_tmp").symlink_to(stamp)
        os.rename(self.root / "..data_tmp", self.root / "..data")


def lines(jail: Jail, prefix: str) -> list[str]:
    return [line for line in jail.stdout.splitlines() if line.startswith(prefix)]


def wait_for_stderr(jail: Jail, text: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in jail.stderr:
        if time.monotonic() > deadline:
            raise AssertionError(f"no {text!r} on stderr: {jail.stderr!r}")
        time.sleep(0.02)


@pytest.fixture
def volume(tmp_path: Path) -> ConfigMap:
    tmp_path.chmod(0o755)
    return ConfigMap(tmp_path / "config", {"app.conf.tmpl": "greeting=${GREETING}\n"})


ENV = jail_env(GREETING="hello")


def test_each_configmap_swap_sends_one_sighup_and_the_app_reads_the_new_file(
    volume: ConfigMap,
) -> None:
    template = f"{volume.root}/app.conf.tmpl:/run/out/app.conf"
    argv = render("--watch", *POLL, "-t", template, "--", *app("/run/out/app.conf"))
    with start_jail(argv, env=ENV) as jail:
        jail.wait_for_line("ready ppid=1")  # envconf is PID 1, the app its child
        volume.swap({"app.conf.tmpl": "greeting=${GREETING}, world\n"})
        jail.wait_for_line("HUP greeting=hello, world")
        time.sleep(0.25)
        volume.swap({"app.conf.tmpl": "greeting=${GREETING} again\n"})
        jail.wait_for_line("HUP greeting=hello again")
        time.sleep(0.25)  # a second signal for the same swap would arrive meanwhile
        jail.signal(signal.SIGTERM)
        result = jail.finish()
    assert lines(jail, "HUP") == ["HUP greeting=hello, world", "HUP greeting=hello again"]
    assert result.returncode == 5, result.stderr
    assert result.stdout.endswith("graceful\n")


def test_a_broken_change_keeps_the_old_file_and_the_app_running(volume: ConfigMap) -> None:
    argv = render(
        "--watch", *POLL, "--template-dir", str(volume.root), "--output-dir", "/run/out",
        "--", *app("/run/out/app.conf"),
    )  # fmt: skip
    with start_jail(argv, env=ENV) as jail:
        jail.wait_for_line("ready ppid=1")
        volume.swap({"app.conf.tmpl": "greeting=${NOT_SET:?must be set}\n"})
        wait_for_stderr(jail, "not applied")
        jail.signal(signal.SIGUSR1)  # still running, still reading the old file
        jail.wait_for_line("USR1 greeting=hello")
        jail.signal(signal.SIGTERM)
        result = jail.finish()
    assert result.returncode == 5
    assert lines(jail, "HUP") == []
    message = "required variable NOT_SET is not set: must be set"
    assert f"{volume.root}/app.conf.tmpl:1: {message}" in result.stderr


def test_sigterm_to_pid_1_reaches_the_app_and_its_status_passes_through(
    volume: ConfigMap,
) -> None:
    template = f"{volume.root}/app.conf.tmpl:/run/out/app.conf"
    argv = render("--watch", *POLL, "-t", template, "--", *app("/run/out/app.conf"))
    with start_jail(argv, env=ENV) as jail:
        jail.wait_for_line("ready ppid=1")
        start = time.monotonic()
        jail.signal(signal.SIGTERM)
        result = jail.finish()
    assert time.monotonic() - start < 2
    assert result.returncode == 5
    assert result.stdout.endswith("graceful\n")


@pytest.mark.parametrize("mode", ["--init", "--watch"])
def test_pid_1_reaps_orphaned_grandchildren(mode: str) -> None:
    with start_jail(render(mode, "--", *app(code=ORPHANS)), env=ENV) as jail:
        result = jail.finish()
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["orphan ppid 1", "zombies []"]


def test_init_forwards_signals_to_the_app_as_pid_1(volume: ConfigMap) -> None:
    template = f"{volume.root}/app.conf.tmpl:/run/out/app.conf"
    argv = render("--init", "-t", template, "--", *app("/run/out/app.conf"))
    with start_jail(argv, env=ENV) as jail:
        jail.wait_for_line("ready ppid=1")
        for signum, line in ((signal.SIGHUP, "HUP"), (signal.SIGUSR1, "USR1")):
            jail.signal(signum)
            jail.wait_for_line(f"{line} greeting=hello")
        jail.signal(signal.SIGTERM)
        result = jail.finish()
    assert result.returncode == 5
    assert result.stdout.endswith("graceful\n")
