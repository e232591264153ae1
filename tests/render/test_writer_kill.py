"""SIGKILL at any moment leaves every destination complete: old content or new, never a mix.

A subprocess writes 50 files of 64 KiB (old content all ``A``, new all ``B``; the last ten
do not exist beforehand) and is killed at deterministic pseudo-random delays spread over
the measured duration of a full write.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

SIZE = 64 * 1024
OLD, NEW = b"A" * SIZE, b"B" * SIZE
EXISTING = [f"f{i:02}.conf" for i in range(40)]
FRESH = [f"f{i:02}.conf" for i in range(40, 50)]
RUNS = 30
TEMP_NAME = re.compile(r"^\.envconf-[0-9a-f]+\.tmp$")

CHILD = textwrap.dedent(
    """
    import sys
    from envconf.render.writer import Output, write_outputs

    out = sys.argv[1]
    names = sys.argv[2:]
    outputs = [Output(f"{out}/{name}", b"B" * (64 * 1024), 0o644) for name in names]
    print("ready", flush=True)
    write_outputs(outputs, out, print)
    """
)


def reset(out: Path) -> None:
    for path in out.iterdir():
        path.unlink()
    for name in EXISTING:
        (out / name).write_bytes(OLD)


def start(out: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(out), *EXISTING, *FRESH], stdout=subprocess.PIPE
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"
    return proc


def full_write_seconds(out: Path) -> float:
    reset(out)
    proc = start(out)
    began = time.perf_counter()
    assert proc.wait(timeout=30) == 0
    return time.perf_counter() - began


def test_sigkill_never_leaves_a_partial_destination(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    duration = full_write_seconds(out)
    rng = random.Random(20250101)
    mid_write = 0
    for run in range(RUNS):
        reset(out)
        proc = start(out)
        time.sleep(rng.uniform(0, duration * 1.2))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

        names = {p.name for p in out.iterdir()}
        temps = {n for n in names if n.endswith(".tmp")}
        assert all(TEMP_NAME.match(n) for n in temps), temps
        assert names - temps <= set(EXISTING) | set(FRESH)
        states = []
        for name in EXISTING + FRESH:
            path = out / name
            content = path.read_bytes() if name in names else None
            allowed = (OLD, NEW) if name in EXISTING else (None, NEW)
            assert content in allowed, (
                f"run {run}: {name} holds {len(content or b'')} bytes, neither old nor new"
            )
            assert not path.is_symlink()
            states.append(content == NEW)
        # Killed while staging (temporary files, no destination changed yet) or while
        # renaming (some new, some old): either way in the middle of the write.
        mid_write += bool(temps) or (any(states) and not all(states))
    # Sanity check that the kills really landed during the writes, not only before/after.
    assert mid_write >= 1, f"no kill landed mid-write in {RUNS} runs (write took {duration:.3f}s)"
