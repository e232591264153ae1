"""Tests of secret-file reading (``VAR_FILE`` targets and secrets-dir entries)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from envconf.fileread import MAX_SECRET_BYTES, SecretFileError, read_secret_file


def test_trailing_newlines_are_stripped_and_other_whitespace_kept(tmp_path: Path) -> None:
    path = tmp_path / "s"
    path.write_bytes(b"  pass word \t\n\r\n\n")
    assert read_secret_file(str(path)) == "  pass word \t"


def test_a_file_of_exactly_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "s"
    path.write_bytes(b"x" * MAX_SECRET_BYTES)
    assert len(read_secret_file(str(path))) == MAX_SECRET_BYTES


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: None, "not found"),
        (lambda p: p.mkdir(), "directory"),
        (lambda p: os.mkfifo(p), "not a regular file"),
        (lambda p: p.write_bytes(b"x" * (MAX_SECRET_BYTES + 1)), "larger than"),
        (lambda p: p.write_bytes(b"\xff\xfe"), "not valid UTF-8"),
    ],
)
def test_unusable_files_are_errors_naming_the_path_not_the_content(
    tmp_path: Path, make: object, words: str
) -> None:
    path = tmp_path / "secret"
    make(path)  # type: ignore[operator]
    with pytest.raises(SecretFileError, match=words) as info:
        read_secret_file(str(path))
    assert str(path) in str(info.value)


def test_dev_zero_is_refused_without_reading_forever() -> None:
    with pytest.raises(SecretFileError, match="not a regular file"):
        read_secret_file("/dev/zero")
