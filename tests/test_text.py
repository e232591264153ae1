"""Tests of the shared text checks."""

from __future__ import annotations

import os

from envconf.text import is_utf8


def test_real_text_is_utf8() -> None:
    assert is_utf8("café ✓")


def test_undecodable_bytes_kept_as_surrogates_are_not() -> None:
    assert not is_utf8(os.fsdecode(b"caf\xe9"))
