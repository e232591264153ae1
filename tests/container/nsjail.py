"""A container in a few mounts: run a command as PID 1 with a read-only root.

This is the contract's namespace tier: util-linux ``unshare --pid --fork --mount
--propagation private`` runs a setup script as PID 1 of a new PID namespace, which
rebinds ``/`` read-only into a new root, mounts a fresh ``/proc``, a ``/run`` tmpfs
with a read-only tmpfs of secrets at ``/run/secrets``, a writable tmpfs (``/run/out``
by default) and a private ``/dev/shm``, then ``exec chroot``s into the command
(through ``setpriv`` when a uid is given). The command keeps PID 1, so signals reach
it the way ``docker stop``'s do: send them to :meth:`Jail.init_pid` (the child of
``unshare``), never to ``unshare`` itself, which blocks SIGTERM.

Usage::

    with start_jail(["/bin/sh", "-c", "echo $$"], secrets={"db_password": "s3cret"}) as jail:
        result = jail.finish()  # CompletedProcess; stdout "1\n"

Everything the jail mounts lives in its private mount namespace and disappears with
it; on the host only an empty temporary directory is used, and removed on close.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import envconf

__all__ = [
    "DEFAULT_PATH",
    "ENVCONF_SRC",
    "Jail",
    "jail_env",
    "namespaces_unavailable",
    "parse_probe",
    "probe_argv",
    "run_jailed",
    "start_jail",
    "unprivileged_python",
]

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: The ``src`` folder of the envconf under test, for PYTHONPATH inside the jail.
ENVCONF_SRC = str(Path(envconf.__file__ or "").resolve().parents[1])

_TOOLS = ("unshare", "mount", "chroot", "setpriv", "cp")

_SETUP = r"""
set -eu
root=$1 stage=$2 out=$3
shift 3
mount --rbind / "$root"
mount -o remount,bind,ro "$root"
mount -t proc proc "$root/proc"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$root/run"
mkdir "$root/run/secrets"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$root/run/secrets"
cp -pR "$stage/secrets/." "$root/run/secrets/"
mount -o remount,bind,ro,nosuid,nodev "$root/run/secrets"
mkdir -p "$root$out"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root$out"
mount -o remount,bind,ro,nosuid,nodev "$root/run"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/dev/shm"
exec chroot "$root" "$@"
"""


@functools.cache
def namespaces_unavailable() -> str | None:
    """Return why the jail cannot run here, or ``None`` when it can."""
    if sys.platform != "linux":
        return "namespaces need Linux"
    missing = [tool for tool in _TOOLS if shutil.which(tool) is None]
    if missing:
        return f"util-linux tools not found: {', '.join(missing)}"
    if os.geteuid() != 0:
        return "the namespace tier needs root (mounts, chroot and setuid)"
    try:
        probe = subprocess.run(
            ["unshare", "--pid", "--fork", "--mount", "--propagation", "private", "true"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare failed: {exc}"
    if probe.returncode != 0:
        return f"unshare cannot create namespaces here: {probe.stderr.strip()}"
    return None


@functools.cache
def unprivileged_python() -> str | None:
    """Return a Python interpreter that uid 10001 may run, or ``None``.

    The test venv often lives under ``/root`` (mode 0700); the app inside the jail runs
    as an unprivileged user, so it needs an interpreter outside such folders.
    """
    candidates = [os.path.realpath(sys.executable), "/usr/bin/python3", "/usr/local/bin/python3"]
    for candidate in dict.fromkeys(candidates):
        if not Path(candidate).is_file() or namespaces_unavailable() is not None:
            continue
        # Checked inside a jail, exec'd by a shell the way the probe is (setpriv's own
        # execve can start an interpreter in a folder the user cannot even stat).
        check = 'exec "$0" -c "import os, sys; os.stat(sys.executable)"'
        if run_jailed(["/bin/sh", "-c", check, candidate], uid=10001).returncode == 0:
            return candidate
    return None


def jail_env(**extra: str) -> dict[str, str]:
    """Return a minimal environment for the jail in which envconf is importable."""
    return {
        "PATH": DEFAULT_PATH,
        "LANG": "C.UTF-8",
        "PYTHONPATH": ENVCONF_SRC,
        "PYTHONDONTWRITEBYTECODE": "1",
        **extra,
    }


class Jail:
    """A running jail: the ``unshare`` process plus its output, collected as it comes."""

    def __init__(self, process: subprocess.Popen[bytes], stage: Path) -> None:
        self.process = process
        self._stage = stage
        self._init_pid: int | None = None
        self._changed = threading.Condition()
        self._out = {"stdout": bytearray(), "stderr": bytearray()}
        self._closed: set[str] = set()
        self._readers = [
            threading.Thread(target=self._collect, args=(name, stream), daemon=True)
            for name, stream in (("stdout", process.stdout), ("stderr", process.stderr))
        ]
        for reader in self._readers:
            reader.start()

    def __enter__(self) -> Jail:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def stage(self) -> Path:
        """The host folder holding the staged secrets and the new root's mount point."""
        return self._stage

    @property
    def stdout(self) -> str:
        """Everything the jail has written to stdout so far."""
        with self._changed:
            return self._out["stdout"].decode(errors="replace")

    @property
    def stderr(self) -> str:
        """Everything the jail has written to stderr so far."""
        with self._changed:
            return self._out["stderr"].decode(errors="replace")

    def init_pid(self, timeout: float = 5.0) -> int:
        """Return the host PID of the jail's PID 1: the child of ``unshare``.

        It stays the same through every ``exec`` (setup script, chroot, envconf, app).
        """
        deadline = time.monotonic() + timeout
        while self._init_pid is None:
            self._init_pid = _child_of(self.process.pid)
            if self._init_pid is None:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"unshare started no child; stderr: {self.stderr}")
                time.sleep(0.005)
        return self._init_pid

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the jail's PID 1 (the app, once it has exec'd)."""
        os.kill(self.init_pid(), signum)

    def wait_for_line(self, line: str, timeout: float = 10.0) -> None:
        """Block until stdout contains ``line`` as a whole line."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while line not in self._out["stdout"].decode(errors="replace").splitlines():
                remaining = deadline - time.monotonic()
                if remaining <= 0 or "stdout" in self._closed:
                    raise TimeoutError(
                        f"no line {line!r} from the jail; stdout: {self.stdout!r}, "
                        f"stderr: {self.stderr!r}"
                    )
                self._changed.wait(min(remaining, 0.1))

    def finish(self, timeout: float = 10.0) -> subprocess.CompletedProcess[str]:
        """Wait for the jail to exit and return its status and output.

        The status is the app's exit code, or ``-N`` if it was killed by signal N.
        """
        try:
            returncode = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.close()
            raise
        for reader in self._readers:
            reader.join(timeout)
        return subprocess.CompletedProcess(self.process.args, returncode, self.stdout, self.stderr)

    def close(self) -> None:
        """Kill the jail if it still runs (SIGKILL to PID 1 ends the namespace)."""
        if self.process.poll() is None:
            pid = self._init_pid or _child_of(self.process.pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid if pid is not None else self.process.pid, signal.SIGKILL)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        for reader in self._readers:
            reader.join(5)
        shutil.rmtree(self._stage, ignore_errors=True)

    def _collect(self, name: str, stream: IO[bytes]) -> None:
        while chunk := stream.read1(65536):  # type: ignore[attr-defined]
            with self._changed:
                self._out[name] += chunk
                self._changed.notify_all()
        with self._changed:
            self._closed.add(name)
            self._changed.notify_all()
        stream.close()


def start_jail(
    argv: Sequence[str],
    *,
    secrets: Mapping[str, str | bytes] | None = None,
    writable_dir: str = "/run/out",
    uid: int | None = None,
    gid: int | None = None,
    env: Mapping[str, str] | None = None,
    secret_mode: int = 0o444,
) -> Jail:
    """Start ``argv`` as PID 1 of a fresh PID and mount namespace with a read-only root.

    Args:
        argv: the command to run inside (absolute paths are safest; it is looked up on
            ``env``'s PATH by chroot).
        secrets: file name -> content, placed in a read-only tmpfs at /run/secrets,
            owned by root with ``secret_mode`` (Docker's default is 0444; use 0o400 for
            secrets only root may read).
        writable_dir: where the only writable tmpfs (mode 1777) is mounted; it must be
            under /run or an existing directory.
        uid, gid: run ``argv`` as this user (via ``setpriv``, with no supplementary
            groups); ``None`` keeps root, e.g. to let ``envconf --user`` drop privileges.
        env: the environment inside; default :func:`jail_env`.

    Returns:
        The running :class:`Jail`; use it as a context manager so it is always cleaned up.
    """
    reason = namespaces_unavailable()
    if reason is not None:
        raise RuntimeError(reason)
    if not writable_dir.startswith("/") or (
        not writable_dir.startswith("/run/") and not Path(writable_dir).is_dir()
    ):
        raise ValueError(f"writable_dir must be under /run or an existing folder: {writable_dir}")
    stage = Path(tempfile.mkdtemp(prefix="envconf-jail-"))
    (stage / "root").mkdir()
    (stage / "secrets").mkdir()
    for name, content in (secrets or {}).items():
        if "/" in name or name.startswith("."):
            raise ValueError(f"secret names are plain file names: {name!r}")
        data = content.encode() if isinstance(content, str) else content
        (stage / "secrets" / name).write_bytes(data)
        (stage / "secrets" / name).chmod(secret_mode)
    inner = list(argv)
    if uid is not None:
        group = uid if gid is None else gid
        inner = ["setpriv", f"--reuid={uid}", f"--regid={group}", "--clear-groups", "--", *inner]
    command = [
        "unshare",
        "--pid",
        "--fork",
        "--kill-child",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        _SETUP,
        "jail-setup",
        str(stage / "root"),
        str(stage),
        writable_dir,
        *inner,
    ]
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env) if env is not None else jail_env(),
    )
    return Jail(process, stage)


def run_jailed(
    argv: Sequence[str], *, timeout: float = 10.0, **options: Any
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in a jail to completion; ``options`` are :func:`start_jail`'s."""
    with start_jail(argv, **options) as jail:
        return jail.finish(timeout)


def _child_of(parent: int) -> int | None:
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        fields = stat.rpartition(")")[2].split()
        if len(fields) > 1 and int(fields[1]) == parent:
            return int(entry.name)
    return None


# The probe app: a sh prologue reports the signal state it inherited (Python would
# hide it, since it ignores SIGPIPE itself at start-up), then the same process execs
# Python, which reports the rest as one JSON line and acts on its arguments:
# read=PATH, write=PATH, exit=N, term (print "ready", then on SIGTERM "graceful", exit 0).
# With "term", SIGTERM is blocked before "ready" is printed and then taken with sigwait:
# a handler that prints could run inside the flush of "ready" (CPython checks for signals
# there) and fail with "reentrant call", so the probe never prints from a handler.
_PROBE_SH = (
    'while read -r l; do case $l in SigIgn*|SigBlk*) echo "$l";; esac; '
    'done </proc/self/status; exec "$@"'
)
_PROBE_PY = r"""
import json, os, signal, sys
actions = sys.argv[1:]
if "term" in actions:
    signal.signal(signal.SIGTERM, lambda signum, frame: None)  # handled, as by a real app
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
report = {"pid": os.getpid(), "ppid": os.getppid(), "uid": os.getuid(), "gid": os.getgid(),
          "groups": sorted(os.getgroups()), "home": os.environ.get("HOME"),
          "reads": {}, "writes": {}}
for action in actions:
    verb, _, arg = action.partition("=")
    if verb == "read":
        try:
            with open(arg) as f:
                report["reads"][arg] = f.read()
        except OSError as exc:
            report["reads"][arg] = "error: " + os.strerror(exc.errno)
    elif verb == "write":
        try:
            with open(arg, "w") as f:
                f.write("probe")
            report["writes"][arg] = "ok"
        except OSError as exc:
            report["writes"][arg] = "error: " + os.strerror(exc.errno)
print("REPORT " + json.dumps(report), flush=True)
if "term" in actions:
    print("ready", flush=True)
    signal.sigwait({signal.SIGTERM})
    print("graceful", flush=True)
    sys.exit(0)
for action in actions:
    if action.startswith("exit="):
        sys.exit(int(action[5:]))
"""


def probe_argv(*actions: str, python: str | None = None) -> list[str]:
    """Return the argv of the probe app with ``actions`` (see ``_PROBE_PY``)."""
    interpreter = python or unprivileged_python() or sys.executable
    return ["/bin/sh", "-c", _PROBE_SH, "probe", interpreter, "-c", _PROBE_PY, *actions]


def parse_probe(stdout: str) -> dict[str, Any]:
    """Return the probe's report, with ``signals`` holding SigIgn and SigBlk as ints."""
    report: dict[str, Any] = {"signals": {}}
    for line in stdout.splitlines():
        if line.startswith("REPORT "):
            report.update(json.loads(line[len("REPORT ") :]))
        elif line.startswith(("SigIgn:", "SigBlk:")):
            name, _, value = line.partition(":")
            report["signals"][name] = int(value, 16)
    if "pid" not in report:
        raise AssertionError(f"the probe did not report; stdout: {stdout!r}")
    return report
