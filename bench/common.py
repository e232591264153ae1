"""Timing helpers shared by the benchmarks: statistics, in-process and whole-process runs.

In-process: every candidate is warmed up, then timed with :mod:`timeit` (garbage collection
on, as in an app) in rounds whose order rotates, so slow drifts of a shared machine hit
every candidate alike.

Whole-process: ``hyperfine`` when installed, called once per round with every command
(the order rotated between rounds) and its per-run times merged from the JSON export;
else a Python loop that alternates the commands run by run.
"""

from __future__ import annotations

import gc
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def summary(samples: Sequence[float]) -> dict[str, Any]:
    """Median, min and max (seconds) of ``samples``, and how many there were."""
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "runs": len(samples),
    }


def _rotated(names: list[str], shift: int) -> list[str]:
    shift %= len(names)
    return names[shift:] + names[:shift]


def compare_inprocess(
    candidates: Mapping[str, Callable[[], Any]],
    *,
    runs: int = 25,
    warmup: int = 5,
    sample_seconds: float = 0.05,
) -> dict[str, dict[str, Any]]:
    """Time each candidate ``runs`` times (one sample = the mean of a timeit batch).

    The batch size is chosen per candidate so one sample takes about ``sample_seconds``;
    the order of candidates rotates every round.
    """
    numbers: dict[str, int] = {}
    for name, fn in candidates.items():
        for _ in range(warmup):
            fn()
        start = time.perf_counter()
        fn()
        single = max(time.perf_counter() - start, 1e-7)
        numbers[name] = max(1, int(sample_seconds / single))
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    names = list(candidates)
    # Every library shares this interpreter: freeze what is loaded so that a full collection
    # triggered by one candidate's garbage does not also walk the other libraries' modules.
    gc.collect()
    gc.freeze()
    for round_ in range(runs):
        for name in _rotated(names, round_):
            number = numbers[name]
            # Garbage collection stays on, as in an app (timeit turns it off by default).
            elapsed = timeit.Timer(candidates[name], "gc.enable()").timeit(number)
            samples[name].append(elapsed / number)
    return {name: {**summary(s), "batch": numbers[name]} for name, s in samples.items()}


def have_hyperfine() -> bool:
    return shutil.which("hyperfine") is not None and not os.environ.get("BENCH_NO_HYPERFINE")


def compare_commands(
    commands: Mapping[str, Sequence[str]],
    *,
    runs: int = 30,
    rounds: int = 10,
    warmup: int = 1,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    export: str | None = None,
    prepare: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Run whole-process commands alternately; return per-command summaries (seconds).

    Every command must exit 0 (checked before timing by the caller's correctness check).
    With ``export``, hyperfine's JSON of each round is kept as ``<export>-round<N>.json``.
    ``prepare`` gives a command to run, untimed, before every run of a named command
    (e.g. emptying its output dir, for a first start).
    """
    names = list(commands)
    per_round = max(1, -(-runs // rounds))
    samples: dict[str, list[float]] = {name: [] for name in names}
    tool = "hyperfine" if have_hyperfine() else "python"
    for round_ in range(rounds):
        order = _rotated(names, round_)
        if tool == "hyperfine":
            keep = f"{export}-round{round_ + 1}.json" if export else None
            times = _hyperfine_round(order, commands, per_round, warmup, env, cwd, keep, prepare)
        else:
            times = _python_round(order, commands, per_round, warmup, env, cwd, prepare)
        for name in order:
            samples[name].extend(times[name])
    return {
        name: {**summary(s), "tool": tool, "rounds": rounds, "warmup": warmup}
        for name, s in samples.items()
    }


def _hyperfine_round(
    order: list[str],
    commands: Mapping[str, Sequence[str]],
    runs: int,
    warmup: int,
    env: Mapping[str, str] | None,
    cwd: str | None,
    keep: str | None,
    prepare: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        export = keep or os.path.join(tmp, "out.json")
        argv = [
            "hyperfine",
            "-N",
            "--style",
            "none",
            "--warmup",
            str(warmup),
            "--runs",
            str(runs),
            "--export-json",
            export,
        ]
        if prepare:
            for name in order:
                argv += ["--prepare", shlex.join(prepare.get(name, ["true"]))]
        for name in order:
            argv += ["-n", name, shlex.join(commands[name])]
        done = subprocess.run(
            argv,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"hyperfine failed: {done.stderr[-800:]}")
        if "outliers" in done.stderr:
            log("hyperfine: statistical outliers in this round (another job on the machine?)")
        with open(export) as handle:
            results = json.load(handle)["results"]
    return {name: list(result["times"]) for name, result in zip(order, results, strict=True)}


def _python_round(
    order: list[str],
    commands: Mapping[str, Sequence[str]],
    runs: int,
    warmup: int,
    env: Mapping[str, str] | None,
    cwd: str | None,
    prepare: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, list[float]]:
    def once(name: str) -> float:
        if prepare and name in prepare:
            subprocess.run(list(prepare[name]), check=True, cwd=cwd)
        start = time.perf_counter()
        subprocess.run(
            list(commands[name]),
            check=True,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
        )
        return time.perf_counter() - start

    for name in order:
        for _ in range(warmup):
            once(name)
    times: dict[str, list[float]] = {name: [] for name in order}
    for _ in range(runs):
        for name in order:
            times[name].append(once(name))
    return times


def log(message: str) -> None:
    sys.stderr.write(f"[bench] {message}\n")
    sys.stderr.flush()
