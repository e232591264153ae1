"""The envconf exception hierarchy: every user-facing error knows its exit code."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple


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
        where = self.location or self.source
        if self.value is not None and where:
            where = f"{where}={self.value!r}"
        if self.source and self.location and self.location != self.source:
            where = f"{where} ({self.source})"
        parts = [p for p in (self.key, where) if p]
        return ": ".join([*parts, self.message])


class EnvconfError(Exception):
    """Root of every error envconf raises on purpose."""

    exit_code = 1

    def format(self) -> str:
        """Return the message as shown to the operator on stderr."""
        return f"envconf: {self}"


class ConfigError(EnvconfError, ValueError):
    """The configuration is invalid; the message lists every problem, one per line."""

    def __init__(self, problems: Iterable[Problem | str]) -> None:
        self.problems: list[Problem] = [
            p if isinstance(p, Problem) else Problem(key="", message=p) for p in problems
        ]
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
        out: list[dict[str, str]] = []
        for problem in self.problems:
            item = {
                "key": problem.key,
                "message": problem.message,
                "source": problem.source,
                "location": problem.location,
            }
            if problem.value is not None:
                item["value"] = problem.value
            out.append(item)
        return out

    def json(self, *, indent: int | None = None) -> str:
        """Return :meth:`errors` as a JSON array (secret-free, like the message)."""
        import json  # here, not at module level: ``envconf render`` starts without it

        return json.dumps(self.errors(), indent=indent, ensure_ascii=False)


class SecretOnCommandLineWarning(UserWarning):
    """A secret was passed as a command-line flag, where other processes can read it."""


class UsageError(EnvconfError):
    """The command line itself is wrong (unknown flag, missing value, bad --settings)."""

    exit_code = 2


class RenderError(EnvconfError):
    """One or more templates could not be rendered or written; nothing was changed."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{count} render problem{'s' if count != 1 else ''}:"
        super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))
