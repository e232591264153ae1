"""An opt-in cache of compiled Jinja templates (``envconf render --cache-dir DIR``).

Compiling a large template costs far more than rendering it, and a container renders the
same templates at every start. The cache keeps, per template text, the compiled code and
the names the template reads, binds and guards, so a warm start skips parsing and
compiling. Loading cached code means trusting the directory: it must belong to the
current user and be writable by no one else, or it is not used. A directory that cannot
be created or written (a read-only root) only costs the cache, never the render.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import stat
import sys
from collections.abc import Callable
from typing import Any

#: Bump when the stored tuple changes shape.
FORMAT = 1
SUFFIX = ".envconf-jinja"

Analysis = tuple[list[tuple[str, int]], set[str], set[str]]


class JinjaCache:
    """Compiled templates in ``directory``, keyed by template text and library versions."""

    def __init__(self, directory: str, warn: Callable[[str], None]) -> None:
        self.directory = directory
        self.warn = warn
        self.usable = self._prepare()

    def _prepare(self) -> bool:
        """Create the directory (0700) if needed and check it is safe to load code from."""
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            info = os.stat(self.directory, follow_symlinks=False)
        except OSError as exc:
            self.warn(f"template cache {self.directory} not used: {exc.strerror}")
            return False
        if not stat.S_ISDIR(info.st_mode):
            self.warn(f"template cache {self.directory} not used: not a directory")
            return False
        if info.st_uid != os.geteuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            self.warn(
                f"template cache {self.directory} not used: it must belong to this user "
                "and be writable by no one else (cached code is executed)"
            )
            return False
        return True

    def _path(self, text: str) -> str:
        import jinja2

        digest = hashlib.sha256()
        for part in (str(FORMAT), jinja2.__version__, sys.version, text):
            digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
        return os.path.join(self.directory, digest.hexdigest() + SUFFIX)

    def get(self, text: str) -> tuple[Analysis, Any] | None:
        """The cached analysis and code object for ``text``, or None."""
        if not self.usable:
            return None
        try:
            with open(self._path(text), "rb") as handle:
                data = marshal.load(handle)
            version, loads, assigned, guarded, code = data
            if version != FORMAT:
                return None
            return (list(loads), set(assigned), set(guarded)), code
        except (OSError, EOFError, ValueError, TypeError):
            return None

    def put(self, text: str, analysis: Analysis, code: Any) -> None:
        """Store the analysis and code for ``text``; failures only cost the cache."""
        if not self.usable:
            return
        loads, assigned, guarded = analysis
        data = marshal.dumps((FORMAT, loads, sorted(assigned), sorted(guarded), code))
        path = self._path(text)
        # Random, not the PID: every container's envconf is PID 1, and replicas may share
        # a --cache-dir volume.
        temp = f"{path}.{os.urandom(8).hex()}.tmp"
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temp, path)
        except OSError as exc:
            self.usable = False
            self.warn(f"template cache {self.directory} not written: {exc.strerror}")
            with contextlib.suppress(OSError):
                os.unlink(temp)
