"""Shared fixtures: an isolated environment mapping and a working directory per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def env() -> dict[str, str]:
    """An isolated environment mapping to pass as ``env=`` (never os.environ)."""
    return {}


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """Run the test inside a fresh temporary directory (relative paths resolve here)."""
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)
