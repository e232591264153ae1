"""The envconf exception hierarchy: every user-facing error knows its exit code."""

from __future__ import annotations

from envconf.records import TYPE_CHECKING
from envconf.redact import Redactor, mask_url_passwords, shorten
from envconf.text import printable

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any, NamedTuple
else:
    from envconf.records import NamedTuple


# A NamedTuple, not a dataclass: ``envconf render`` imports this module, and the
# dataclasses machinery (with ``inspect``) costs milliseconds at every container start.
class Problem(NamedTuple):
    """One thing wrong with the configuration, located in the operator's terms.

    ``value`` is the offending raw input when it is safe to show (never for secrets);
    ``location`` is ``file:line``, an env var name, a CLI flag or ``default``.
    """

    key: str
    message: str
    source: str = ""
    location: str = ""
    value: str | None = None

    def __str__(self) -> str:
        where = printable(self.location or self.source)
        if self.value is not None and where:
            where = f"{where}={shorten(printable(self.value))!r}"
        if self.source and self.location and self.location != self.source:
            where = f"{where} ({self.source})"
        parts = [p for p in (printable(self.key), where) if p]
        return ": ".join([*parts, printable(self.message)])

    def redacted(self, redact: Callable[[str], str]) -> Problem:
        """This problem with every field passed through ``redact`` (whole, before any cut)."""
        value = None if self.value is None else redact(self.value)
        return Problem(
            redact(self.key), redact(self.message), self.source, redact(self.location), value
        )

    def to_dict(self) -> dict[str, str]:
        """The problem as JSON-friendly data; ``value`` only when the message shows it."""
        item = {
            "key": self.key,
            "message": self.message,
            "source": self.source,
            "location": self.location,
        }
        if self.value is not None:
            item["value"] = self.value
        return item


def _redact_all(problems: Iterable[Problem | str], redactor: Redactor | None) -> list[Problem]:
    redact = redactor if redactor is not None else mask_url_passwords
    return [
        (p if isinstance(p, Problem) else Problem(key="", message=p)).redacted(redact)
        for p in problems
    ]


class EnvconfError(Exception):
    """Root of every error envconf raises on purpose."""

    exit_code = 1

    def format(self) -> str:
        """Return the message as shown to the operator on stderr."""
        return f"envconf: {self}"


class ConfigError(EnvconfError, ValueError):
    """The configuration is invalid; the message lists every problem, one per line.

    Problems pass through the load's :class:`~envconf.redact.Redactor` here, so neither
    the message nor :attr:`problems` can hold a secret the load knew of.
    """

    #: What the failed load read (files, directories): a watcher keeps following them.
    inputs: tuple[Any, ...] = ()
    #: What did load, before validation, as an ``explain`` document with secrets masked
    #: (``envconf explain`` shows it above the problems); ``None`` when nothing loaded.
    loaded: dict[str, Any] | None = None

    def __init__(self, problems: Iterable[Problem | str], redactor: Redactor | None = None) -> None:
        self.problems: list[Problem] = _redact_all(problems, redactor)
        super().__init__(self._message())

    def _message(self) -> str:
        count = len(self.problems)
        head = f"{count} configuration problem{'s' if count != 1 else ''}:"
        return "\n".join([head, *(f"  {p}" for p in self.problems)])

    def __repr__(self) -> str:
        count = len(self.problems)
        return f"ConfigError({count} problem{'s' if count != 1 else ''})"

    def errors(self) -> list[dict[str, str]]:
        """Return every problem as a dict, like pydantic's ``ValidationError.errors()``.

        Each dict has ``key``, ``message``, ``source`` and ``location``, plus ``value``
        only when the message already shows it (never for a secret).
        """
        return [problem.to_dict() for problem in self.problems]

    def json(self, *, indent: int | None = None) -> str:
        """Return :meth:`errors` as a JSON array (secret-free, like the message)."""
        import json  # here, not at module level: ``envconf render`` starts without it

        return json.dumps(self.errors(), indent=indent, ensure_ascii=False)


def caller_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning point at the first caller outside envconf.

    Loading goes through pydantic, pydantic-settings and a varying depth of envconf's own
    frames; the operator wants the line of their own code.
    """
    import sys

    frame = sys._getframe(1)
    level = 1
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if not module.startswith(("envconf.", "pydantic", "warnings")) and module != "envconf":
            return level
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return 1


class UnknownVariableWarning(UserWarning):
    """A variable carries the settings' prefix but names no key (a typo, most likely)."""


class SecretOnCommandLineWarning(UserWarning):
    """A secret was passed as a command-line flag, where other processes can read it."""


class UsageError(EnvconfError):
    """The command line itself is wrong (unknown flag, missing value, bad --settings)."""

    exit_code = 2


class RenderError(EnvconfError):
    """One or more templates could not be rendered or written; nothing was changed."""

    def __init__(self, problems: Iterable[Problem | str], redactor: Redactor | None = None) -> None:
        self.problems: list[Problem] = _redact_all(problems, redactor)
        count = len(self.problems)
        head = f"{count} render problem{'s' if count != 1 else ''}:"
        super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))
