"""How hard the fuzz tests try: a smoke run in ``make test``, the full run in ``make fuzz``.

``make fuzz`` runs ``pytest tests/fuzz --hypothesis-seed=0``; when pytest is pointed at
this folder only, :data:`FULL` is set (by ``conftest.py``) and every test gets its full
example budget. Inside the whole suite each gets a fiftieth, so ``make test`` stays fast
and still runs every fuzz target. Each example has a deadline, so one hostile input that
makes a parser slow fails the run instead of stretching it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, settings

FULL = False
#: One example may take this long (generous: CI machines are shared and slow).
DEADLINE = timedelta(seconds=5)


def configure(args: list[str]) -> None:
    """Give the full budget when every path pytest was given is inside ``tests/fuzz``."""
    global FULL
    paths = [arg.split("::")[0] for arg in args]
    FULL = bool(paths) and all("fuzz" in path.replace("\\", "/").split("/") for path in paths)


def fuzz(examples: int) -> Any:
    """``@settings`` for one fuzz target: ``examples`` in the full run, 1/50 otherwise."""
    return settings(
        max_examples=examples if FULL else max(10, examples // 50),
        deadline=DEADLINE,
        database=None,  # with --hypothesis-seed=0 every run tries the same inputs
        derandomize=not FULL,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
