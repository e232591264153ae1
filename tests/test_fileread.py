"""Tests of secret-file reading (``VAR_FILE`` targets and secrets-dir entries)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from envconf.fileread import (
    MAX_SECRET_BYTES,
    FileReadError,
    FileVariables,
    read_regular,
    read_secret_file,
)


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
    with pytest.raises(FileReadError, match=words) as info:
        read_secret_file(str(path))
    assert str(path) in str(info.value)


def test_dev_zero_is_refused_without_reading_forever() -> None:
    with pytest.raises(FileReadError, match="not a regular file"):
        read_secret_file("/dev/zero")


# --- read_regular: one bounded reader for every file envconf reads ----------------------------


def test_a_file_over_the_limit_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"x" * 101)
    with pytest.raises(FileReadError, match=f"{big}: template larger than 100 bytes"):
        read_regular(str(big), 100, "template")
    assert read_regular(str(big), 101) == b"x" * 101


def test_a_fifo_and_a_directory_are_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(FileReadError, match="not a regular file"):
        read_regular(str(fifo), 10, "config file")
    with pytest.raises(FileReadError, match="is a directory"):
        read_regular(str(tmp_path), 10)


# --- FileVariables: the one VAR_FILE resolver ------------------------------------------------


def test_var_file_is_read_only_when_var_is_asked_for_and_recorded(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret\n")
    variables = FileVariables({"PW_FILE": str(tmp_path / "pw"), "LOG_FILE": "/nonexistent"})
    assert variables.lookup("PW") == "s3cret"
    assert variables.lookup("PW") == "s3cret"  # read once
    assert [(r.variable, r.text) for r in variables.reads] == [("PW_FILE", "s3cret")]
    assert variables.lookup("UNSET") is None  # LOG_FILE was never opened


def test_var_and_var_file_both_set_is_an_error_naming_both(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("x")
    variables = FileVariables({"PW": "inline", "PW_FILE": str(tmp_path / "pw")})
    with pytest.raises(FileReadError, match="both PW and PW_FILE are set"):
        variables.lookup("PW")


def test_an_empty_var_file_falls_back_to_var_and_a_custom_suffix_works() -> None:
    assert FileVariables({"PW": "inline", "PW_FILE": ""}).lookup("PW") == "inline"
    assert (
        FileVariables({"PW": "inline", "PW_PATH": "/x"}, suffix="_PATH").file_variable("PW")
        == "PW_PATH"
    )
