"""``make bench``: set up the peers venv, run every benchmark, write docs/performance.md.

Peers are installed into ``bench/.venv-peers`` (never into the project's venv), together
with envconf itself (editable, from this checkout), so that in-process comparisons run in
one interpreter. A peer that fails to install is recorded and left out.

    python bench/run.py             # everything (about 10 minutes on 2 cores)
    python bench/run.py --quick     # fewer runs, for trying the harness out
    python bench/run.py --only settings process profile report
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VENV = HERE / ".venv-peers"
RESULTS = HERE / "results"
WORK = RESULTS / "work"
DOC = REPO / "docs" / "performance.md"

#: What apps install to use each peer for this workload (YAML + env + CLI, Jinja2).
PEERS = [
    "pydantic-settings[yaml]",
    "dynaconf",
    "typed-settings[cattrs,pydantic,yaml]",
    "jinjanator",
    "envtpl",
]

sys.path.insert(0, str(HERE))
from common import log  # noqa: E402


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_peers(force: bool) -> dict[str, str]:
    """Create the peers venv and install peers + envconf; return install failures."""
    stamp = VENV / ".installed.json"
    key = hashlib.sha256(json.dumps([PEERS, str(REPO)]).encode()).hexdigest()
    if not force and stamp.exists():
        recorded = json.loads(stamp.read_text())
        if recorded.get("key") == key:
            return dict(recorded.get("failed", {}))
    if not venv_python().exists():
        log(f"creating {VENV}")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(venv_python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    failed: dict[str, str] = {}
    log(f"installing envconf (editable) and peers into {VENV}")
    subprocess.run([*pip, "-e", str(REPO)], check=True)
    for peer in PEERS:
        done = subprocess.run([*pip, peer], capture_output=True, text=True)
        if done.returncode != 0:
            failed[peer] = (done.stderr.strip().splitlines() or ["pip failed"])[-1][:300]
            log(f"could not install {peer}: {failed[peer]}")
    stamp.write_text(json.dumps({"key": key, "failed": failed}))
    return failed


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True, cwd=REPO)
    return done.stdout.strip()


def wait_quiet(limit: float) -> None:
    """Give a shared machine's other jobs a moment to finish (the run is timed either way)."""
    deadline = time.monotonic() + limit
    while os.getloadavg()[0] >= 1.0 and time.monotonic() < deadline:
        log(f"load average {os.getloadavg()[0]:.2f}: waiting for a quieter machine")
        time.sleep(10)


def run_stage(script: str, out: Path, extra: list[str]) -> None:
    argv = [str(venv_python()), str(HERE / script), "--work", str(WORK), "--out", str(out)]
    start = time.perf_counter()
    subprocess.run([*argv, *extra], check=True, cwd=REPO)
    log(f"{script}: {time.perf_counter() - start:.0f} s")


def _record_app_start() -> None:
    """Append this run's app-start ratio to results/history.json (the report shows three)."""
    timings = json.loads((RESULTS / "process.json").read_text())["app_start"]["timings"]
    ratio = timings["envconf app"]["median"] / timings["pydantic-settings app"]["median"]
    path = RESULTS / "history.json"
    history = json.loads(path.read_text()) if path.exists() else []
    history.append(
        {
            "commit": _git("rev-parse", "--short", "HEAD"),
            "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "ratio": round(ratio, 4),
        }
    )
    path.write_text(json.dumps(history[-10:], indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (not for the docs)")
    parser.add_argument("--reinstall", action="store_true", help="reinstall the peers venv")
    parser.add_argument(
        "--only",
        nargs="+",
        default=["settings", "process", "replica", "profile", "report"],
        choices=["settings", "process", "replica", "profile", "report"],
    )
    parser.add_argument("--doc", type=Path, default=DOC, help="where to write the report")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=60,
        metavar="SECONDS",
        help="first wait up to this long for the 1-minute load average to fall below 1.0",
    )
    args = parser.parse_args()
    began = time.perf_counter()
    failed = ensure_peers(args.reinstall)
    wait_quiet(args.wait_quiet)
    load_start = os.getloadavg()[0]
    RESULTS.mkdir(exist_ok=True)
    WORK.mkdir(exist_ok=True)
    (RESULTS / "install-failures.json").write_text(json.dumps(failed, indent=2))
    quick = args.quick
    if "settings" in args.only:
        runs = ["--runs", "5"] if quick else ["--runs", "31"]
        run_stage("settings_bench.py", RESULTS / "settings.json", runs)
    if "process" in args.only:
        runs = ["--runs", "6", "--slow-runs", "4"] if quick else ["--runs", "30"]
        run_stage("process_bench.py", RESULTS / "process.json", runs)
    if "replica" in args.only:
        runs = ["--runs", "4"] if quick else ["--runs", "15"]
        run_stage("replica_bench.py", RESULTS / "replica.json", runs)
    if "profile" in args.only:
        run_stage("profile_bench.py", RESULTS / "profile.json", [])
    if "process" in args.only and not quick:
        _record_app_start()
    if set(args.only) - {"report"}:
        meta = {
            "elapsed_s": round(time.perf_counter() - began),
            "load_start": round(load_start, 2),
            "load_end": round(os.getloadavg()[0], 2),
            "quick": quick,
            "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "commit": _git("rev-parse", "--short", "HEAD"),
            "src_dirty": bool(_git("status", "--porcelain", "--", "src")),
        }
        (RESULTS / "meta.json").write_text(json.dumps(meta, indent=2))
    if "report" in args.only:
        argv = [str(venv_python()), str(HERE / "report.py"), "--results", str(RESULTS)]
        argv += ["--doc", str(args.doc)] + (["--quick"] if quick else [])
        subprocess.run(argv, check=True, cwd=REPO)
        log(f"wrote {args.doc}")


if __name__ == "__main__":
    main()
