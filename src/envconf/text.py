"""Small text checks shared by the loader and the renderer (standard library only)."""

from __future__ import annotations

import sys


def is_utf8(text: str) -> bool:
    """Whether ``text`` is real text.

    ``os.environ`` and ``sys.argv`` keep bytes that are not UTF-8 as lone surrogates;
    such a value must be reported where it came from, not crash when it is written out.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(text: str) -> str:
    """``text`` with control characters escaped, so a name cannot forge a log line.

    A file name may hold a newline or an ANSI escape; shown raw, it could print a fake
    ``envconf: rendered 1 file(s)`` line or recolour the terminal.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def log(message: str) -> None:
    """Write ``envconf: message`` to stderr; a closed or broken stderr never stops anything.

    The last step of the redaction boundary: URL passwords are masked (whatever the
    message), and control characters escaped line by line.
    """
    stream = sys.stderr
    if stream is None:  # fd 2 was closed when Python started
        return
    from envconf.redact import mask_url_passwords

    shown = "\n".join(printable(mask_url_passwords(line)) for line in message.split("\n"))
    try:
        stream.write(f"envconf: {shown}\n")
        stream.flush()
    except (OSError, ValueError):  # EPIPE, EBADF, or a closed file object
        pass
