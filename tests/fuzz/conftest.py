"""Pick the fuzz budget from what pytest was asked to run (see ``budget.py``)."""

from __future__ import annotations

import pytest

from . import budget


def pytest_configure(config: pytest.Config) -> None:
    budget.configure([str(arg) for arg in config.args])
