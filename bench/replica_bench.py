"""Workload 6: the CPU one container start costs, the example webapp alone or behind envconf.

A replica of ``examples/webapp`` starts, logs "listening on", and is stopped with SIGTERM;
the CPU time is the process's own (``wait4``'s rusage: user + system), which includes
``envconf render`` when it exec's the app or runs it in-process (the same PID). Three
ways, alternating run by run:

- the app alone (``python -m webapp``), its logging config rendered beforehand;
- ``envconf render --settings ... --template-dir templates -- python -m webapp``: the
  Dockerfile's entrypoint, which exec's a second interpreter;
- the same with ``--in-process``: the app runs in the render's interpreter.

    python bench/replica_bench.py --work DIR --out results.json [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import log, summary  # noqa: E402

PYTHON = sys.executable
BIN = Path(PYTHON).parent
WEBAPP = HERE.parent / "examples" / "webapp"
SETTINGS = "webapp.settings:AppSettings"


def prepare(work_root: Path) -> tuple[Path, dict[str, list[str]], dict[str, str]]:
    """Copy the webapp, render its logging config once, and build the three commands."""
    root = work_root / "replica"
    shutil.rmtree(root, ignore_errors=True)
    app = root / "app"
    for part in ("config", "templates", "webapp"):
        shutil.copytree(WEBAPP / part, app / part, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "data").mkdir()
    out = root / "out"
    out.mkdir()
    env = {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(root),
        "APP_HOST": "127.0.0.1",
        "APP_PORT": "0",
        "APP_DATA_DIR": str(root / "data"),
        "APP_LOGGING_CONFIG": str(out / "logging.yaml"),
        "HOSTNAME": "replica",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    render = [str(BIN / "envconf"), "render", "--template-dir", "templates"]
    render += ["--output-dir", str(out), "--settings", SETTINGS]
    subprocess.run(render, cwd=app, env=env, check=True, capture_output=True)
    commands = {
        "app alone (python -m webapp)": [PYTHON, "-m", "webapp"],
        "envconf render, then exec the app": [*render, "--", PYTHON, "-m", "webapp"],
        "envconf render --in-process": [*render, "--in-process", "--", PYTHON, "-m", "webapp"],
    }
    return app, commands, env


def one_start(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Start a replica, wait for "listening on", stop it; return (CPU s, wall s to ready)."""
    began = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    seen: list[str] = []
    for line in proc.stderr:
        seen.append(line)
        if "listening on" in line:
            break
    else:
        proc.wait()
        raise RuntimeError(f"{argv}: never listened:\n{''.join(seen)}")
    ready = time.perf_counter() - began
    proc.send_signal(signal.SIGTERM)
    proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv}: exited {proc.returncode}:\n{''.join(seen)}")
    return usage.ru_utime + usage.ru_stime, ready


def replica_cpu(work_root: Path, runs: int) -> dict[str, Any]:
    app, commands, env = prepare(work_root)
    for argv in commands.values():  # warm the file cache and check each way works
        one_start(argv, app, env)
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    wall: dict[str, list[float]] = {name: [] for name in commands}
    names = list(commands)
    log(f"replica cpu: {len(names)} ways, {runs} starts each")
    for run in range(runs):
        shift = run % len(names)
        for name in names[shift:] + names[:shift]:
            used, ready = one_start(commands[name], app, env)
            cpu[name].append(used)
            wall[name].append(ready)
    return {
        "cpu": {name: summary(values) for name, values in cpu.items()},
        "ready": {name: summary(values) for name, values in wall.items()},
        "commands": {
            name: " ".join(Path(a).name if a == PYTHON else a for a in argv)
            for name, argv in commands.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    result = replica_cpu(args.work, args.runs)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
