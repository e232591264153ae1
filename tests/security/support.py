"""Helpers shared by the security tests: the canary, the real CLI, hostile files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

#: A secret no message, report or exception may ever show.
CANARY = "canary-5e1f0a77-9c2d-4b3e-a6f8"
SETTINGS = f"{Path(__file__).with_name('hostile_settings.py')}:Hostile"
BASE_ENV: dict[str, str] = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Run:
    """One finished ``envconf`` process; output decoded, undecodable bytes kept as escapes."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    def assert_no_traceback(self) -> None:
        assert "Traceback" not in self.stderr, self.stderr
        assert "Traceback" not in self.stdout, self.stdout


def envconf(
    args: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str | bytes] | None = None,
    timeout: float = 30,
) -> Run:
    """Run the real ``python -m envconf ARGS`` with only ``env`` (plus PATH and LANG)."""
    argv = [sys.executable, "-m", "envconf", *args]
    return python(argv, cwd=cwd, env=env, timeout=timeout)


def python(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str | bytes] | None = None,
    timeout: float = 30,
) -> Run:
    """Run ``argv`` and collect its output (stdin is /dev/null)."""
    full: dict[str | bytes, str | bytes] = {**BASE_ENV, **(env or {})}
    proc = subprocess.run(
        list(argv),
        cwd=cwd,
        env=full,  # type: ignore[arg-type]  # bytes values are fine on POSIX
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    return Run(
        list(argv),
        proc.returncode,
        proc.stdout.decode("utf-8", "backslashreplace"),
        proc.stderr.decode("utf-8", "backslashreplace"),
    )


def in_parallel(function: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """Map ``function`` over ``items`` in threads: each call waits on its own subprocess."""
    with ThreadPoolExecutor(max_workers=max(4, os.cpu_count() or 1)) as pool:
        return list(pool.map(function, items))


@dataclass(frozen=True)
class Call:
    """One ``envconf ARGS`` run for :func:`envconf_many`: its own argv, env and cwd."""

    args: Sequence[str | bytes]
    cwd: Path
    env: Mapping[str, str | bytes] = field(default_factory=dict)


# Imports pydantic and envconf once, then forks one child per call. Each child is its own
# process running exactly what ``python -m envconf`` runs (runpy of envconf/__main__.py)
# with its own argv, environment (bytes kept), cwd and stdio; an uncaught exception is
# printed by sys.excepthook, as the interpreter itself would. It saves ~0.4 s per call.
_FORK_SERVER = r"""
import json, os, runpy, sys
import pydantic, pydantic_settings, envconf.cli, envconf.settings

def decode(text):
    return os.fsdecode(bytes.fromhex(text))

calls = json.load(sys.stdin)
children = {}
for index, call in enumerate(calls):
    pid = os.fork()
    if pid:
        children[pid] = index
        continue
    code = 1
    try:
        for fd, name, flags in ((0, os.devnull, os.O_RDONLY),
                                (1, call["stdout"], os.O_WRONLY | os.O_CREAT),
                                (2, call["stderr"], os.O_WRONLY | os.O_CREAT)):
            os.dup2(os.open(name, flags, 0o600), fd)
        os.chdir(call["cwd"])
        os.environ.clear()
        os.environ.update({decode(k): decode(v) for k, v in call["env"]})
        sys.argv = ["envconf", *map(decode, call["args"])]
        try:
            runpy.run_module("envconf", run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        sys.excepthook(*sys.exc_info())
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)
status = {}
while children:
    pid, raw = os.wait()
    status[children.pop(pid)] = os.waitstatus_to_exitcode(raw)
print(json.dumps([status[i] for i in range(len(calls))]))
"""


def envconf_many(calls: Sequence[Call], timeout: float = 60) -> list[Run]:
    """Run every call of the real CLI at once (see ``_FORK_SERVER``); results in order."""

    def hexed(value: str | bytes) -> str:
        return (value if isinstance(value, bytes) else os.fsencode(value)).hex()

    with tempfile.TemporaryDirectory(prefix="envconf-runs-") as folder:
        requests = [
            {
                "args": [hexed(a) for a in call.args],
                "cwd": str(call.cwd),
                "env": [[hexed(k), hexed(v)] for k, v in {**BASE_ENV, **call.env}.items()],
                "stdout": f"{folder}/{i}.out",
                "stderr": f"{folder}/{i}.err",
            }
            for i, call in enumerate(calls)
        ]
        proc = subprocess.run(
            [sys.executable, "-c", _FORK_SERVER],
            input=json.dumps(requests),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=BASE_ENV,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        codes: list[int] = json.loads(proc.stdout)
        return [
            Run(
                ["envconf", *map(os.fsdecode, call.args)],
                code,
                Path(request["stdout"]).read_bytes().decode("utf-8", "backslashreplace"),
                Path(request["stderr"]).read_bytes().decode("utf-8", "backslashreplace"),
            )
            for call, request, code in zip(calls, requests, codes, strict=True)
        ]
