"""Read secret files (``VAR_FILE`` targets, ``secrets_dir`` entries) safely.

Shared by the loader and ``envconf render``, so it imports only the standard library.
A secret file must be a regular file of at most 1 MiB of UTF-8; a leading byte order mark
and trailing newlines are stripped (as ``echo secret > file`` adds one) and every other
byte is kept.
"""

from __future__ import annotations

import os
import stat

MAX_SECRET_BYTES = 1024 * 1024


class SecretFileError(Exception):
    """A secret file cannot be used; the message names the path, never the content."""


def read_secret_file(path: str) -> str:
    """Return the text of the secret file at ``path``.

    Opens without blocking (a FIFO must not hang the container start) and checks the
    file type on the open descriptor, so a swapped path cannot slip in between.

    Raises:
        SecretFileError: missing, not a regular file, too large, or not UTF-8.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise SecretFileError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise SecretFileError(f"{path}: is a directory, not a regular file") from None
    except OSError as exc:
        raise SecretFileError(f"{path}: cannot open: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise SecretFileError(f"{path}: is a directory, not a regular file")
        if not stat.S_ISREG(info.st_mode):
            raise SecretFileError(f"{path}: not a regular file")
        if info.st_size > MAX_SECRET_BYTES:
            raise SecretFileError(f"{path}: larger than {MAX_SECRET_BYTES} bytes")
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            total += len(chunk)
            if total > MAX_SECRET_BYTES:
                raise SecretFileError(f"{path}: larger than {MAX_SECRET_BYTES} bytes")
            chunks.append(chunk)
    except OSError as exc:
        raise SecretFileError(f"{path}: cannot read: {exc.strerror}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    try:
        text = data.decode("utf-8-sig")  # a BOM (Notepad's) is not part of the secret
    except UnicodeDecodeError as exc:
        raise SecretFileError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    return text.rstrip("\r\n")
