"""docs/security.md names real tests: an auditor can follow every row to its test."""

from __future__ import annotations

import re
from pathlib import Path

from .test_promise4_fail_closed import CASES

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "security.md").read_text()


def defined_tests() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        names.update(re.findall(r"^\s*def (test_\w+)\(", path.read_text(), re.MULTILINE))
    return names


def test_every_test_named_on_the_page_exists() -> None:
    named = set(re.findall(r"`(test_\w+)", PAGE))
    assert named, "the page names no tests"
    assert named - defined_tests() == set()


def test_every_file_named_on_the_page_exists() -> None:
    paths = set(re.findall(r"`((?:tests|docs|src)/[\w/.]+\.(?:py|md))`", PAGE))
    assert paths
    assert {p for p in paths if not (ROOT / p).exists()} == set()


def test_every_fail_closed_case_is_on_the_page_and_every_listed_one_exists() -> None:
    section = PAGE.split("## 4.")[1].split("## 5.")[0]
    listed = set(re.findall(r"`([a-z0-9]+(?:-[a-z0-9]+)+)`", section))
    ids = {case.id for case in CASES}
    assert listed - ids == set()
    assert ids - listed == set()
