"""Bounded reads of regular files, and the one ``VAR_FILE`` resolver.

Every file envconf reads on an operator's say-so (config files, ``.env`` files, secret
files, templates) goes through :func:`read_regular`: opened without blocking (a FIFO must
not hang a container start), checked on the open descriptor (a swapped path cannot slip
in between), and never read past its size limit. Standard library only: ``envconf
render`` uses it too.
"""

from __future__ import annotations

import os
import stat

from envconf.records import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import NamedTuple
else:
    from envconf.records import NamedTuple

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_SECRET_BYTES",
    "MAX_TEMPLATE_BYTES",
    "FileRead",
    "FileReadError",
    "FileVariables",
    "read_regular",
    "read_secret_file",
]

MAX_SECRET_BYTES = 1024 * 1024
MAX_CONFIG_BYTES = 64 * 1024 * 1024
MAX_TEMPLATE_BYTES = 64 * 1024 * 1024

_CHUNK = 1024 * 1024


class FileReadError(Exception):
    """A file cannot be used; the message names the path, never the content."""


def read_regular(path: str, limit: int, what: str = "file") -> bytes:
    """Return the bytes of the regular file at ``path``, at most ``limit`` of them.

    Raises:
        FileReadError: missing, a directory or other non-regular file, larger than
            ``limit``, or unreadable; the message starts with ``path``.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise FileReadError(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise FileReadError(f"{path}: is a directory, not a regular file") from None
    except OSError as exc:
        raise FileReadError(f"{path}: cannot open {what}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise FileReadError(f"{path}: is a directory, not a regular file")
        if not stat.S_ISREG(info.st_mode):
            raise FileReadError(f"{path}: {what} is not a regular file")
        if info.st_size > limit:
            raise FileReadError(f"{path}: {what} larger than {limit} bytes")
        chunks: list[bytes] = []
        total = 0
        # One byte more than allowed tells a file that grew since fstat.
        while chunk := os.read(fd, min(_CHUNK, limit + 1 - total)):
            total += len(chunk)
            if total > limit:
                raise FileReadError(f"{path}: {what} larger than {limit} bytes")
            chunks.append(chunk)
    except OSError as exc:
        raise FileReadError(f"{path}: cannot read {what}: {exc.strerror}") from None
    finally:
        os.close(fd)
    return b"".join(chunks)


def read_secret_file(path: str) -> str:
    """Return the text of a secret file: at most 1 MiB of UTF-8, trailing newlines stripped.

    A leading byte order mark (Notepad's) is not part of the secret; every other byte is.

    Raises:
        FileReadError: as :func:`read_regular`, or the bytes are not UTF-8.
    """
    data = read_regular(path, MAX_SECRET_BYTES, "secret file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileReadError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    return text.rstrip("\r\n")


class FileRead(NamedTuple):
    """One ``VAR_FILE`` that was read: the variable, the file, and what it held."""

    variable: str
    path: str
    text: str


class FileVariables:
    """Look variables up in an environment, falling back to ``NAME_FILE`` files.

    A file is read only when its ``NAME`` is asked for (an unrelated ``LOG_FILE`` is
    never opened), at most once, and every read is recorded in :attr:`reads` (whose
    texts are secrets, and whose paths a watcher follows). ``NAME`` and ``NAME_FILE``
    both non-empty is an error, as in the official postgres image.
    """

    def __init__(self, env: Mapping[str, str], suffix: str = "_FILE") -> None:
        self.env = env
        self.suffix = suffix
        self.reads: list[FileRead] = []
        self._cache: dict[str, str | None] = {}

    def file_variable(self, name: str) -> str | None:
        """The ``NAME_FILE`` variable for ``name`` when it is set and non-empty."""
        if not self.suffix:
            return None
        file_name = name + self.suffix
        return file_name if self.env.get(file_name) else None

    def lookup(self, name: str) -> str | None:
        """Return the value of ``name``, read from ``NAME_FILE`` when that is set.

        Raises:
            FileReadError: the file cannot be read, or both forms are set.
        """
        if name in self._cache:
            return self._cache[name]
        value = self.env.get(name)
        file_name = self.file_variable(name)
        if file_name is not None:
            if value:
                raise FileReadError(f"both {name} and {file_name} are set; set only one")
            path = self.env[file_name]
            try:
                value = read_secret_file(path)
            except FileReadError as exc:
                raise FileReadError(f"{file_name}: {exc}") from None
            self.reads.append(FileRead(file_name, path, value))
        self._cache[name] = value
        return value

    def secret_texts(self) -> list[str]:
        """Every text read from a file so far."""
        return [read.text for read in self.reads]
