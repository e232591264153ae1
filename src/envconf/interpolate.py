"""``${VAR}`` interpolation: Compose mode for config files, envsubst mode for templates.

One scanner serves both the settings loader (:func:`interpolate`, docker compose semantics)
and ``envconf render``'s envsubst engine (:func:`envsubst`, byte-compatible with the
official nginx image for ``$VAR``/``${VAR}``, plus the Compose operators).

It runs at every container start, so it imports no module but :mod:`envconf.records` (a
record type without :mod:`typing`), not even :mod:`re`: that alone costs about 5 ms there
(enum, functools, the regex compiler), a fifth of the budget. The scanner splits the text
at every ``$`` and reads each piece once, with str methods: a piece that starts with a
name or ``{NAME}`` is a plain reference (the bulk of any template), replaced where it
stands; an operator form, ``$$`` or a malformed reference says where scanning resumes.
That is faster than ``re.sub`` with a callback, and linear in the text.

Semantics shared by both modes:

- A value is never expanded again (single pass), so an env value cannot inject references.
- ``${VAR:-x}`` / ``${VAR-x}`` / ``${VAR:+x}`` / ``${VAR+x}`` / ``${VAR:?x}`` / ``${VAR?x}``
  follow the Compose specification; the word after the operator may hold references and
  balanced braces (``${JSON:-{"a":1}}``, as compose-go pairs them), and it is expanded
  only when it is used.
- A name is ASCII ``[A-Za-z_][A-Za-z0-9_]*``: ``$é`` is text (``str.isidentifier()`` alone
  would take it).
- Every problem in a text is collected and raised once, as :class:`InterpolationError`.

Where Compose mode departs from compose-go, on purpose: an unset variable without a
default is an error unless ``allow_unset`` (Compose warns and uses ""); a ``$`` that starts
no reference is text, not an error (``$(id)``, ``$ 5``); a default is expanded only when
used (compose-go expands it first, so ``${SET:-${X:?}}`` fails there); a malformed
reference in an unused default is still reported (a template error should not depend on
the environment).
"""

from __future__ import annotations

from envconf.records import TYPE_CHECKING

if TYPE_CHECKING:
    import re
    from collections.abc import Callable, Iterable, Iterator
    from typing import NamedTuple

    #: Returns a variable's value, or ``None`` when it is unset (distinct from set-but-empty).
    Lookup = Callable[[str], str | None]
else:
    from envconf.records import NamedTuple

__all__ = [
    "InterpolationError",
    "InterpolationIssue",
    "envsubst",
    "interpolate",
    "line_of",
    "references",
]

_FIRST = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
_NAME_START = frozenset(_FIRST)
# What str.lstrip() takes off a piece as its name (str.isalnum() would take "é" too).
_NAME_CHARS = _FIRST + "0123456789"
_OPERATORS = frozenset("-+?")

# Deep enough for any real template, shallow enough to stay far from the recursion limit.
_MAX_DEPTH = 64
_SNIPPET_MAX = 60


class InterpolationIssue(NamedTuple):
    """One problem found while interpolating a text."""

    variable: str
    """The variable name, or ``""`` when the reference itself is malformed."""
    message: str
    """What is wrong, e.g. ``required variable DB_HOST is not set``."""
    offset: int
    """Character offset in the input text where the reference starts."""


class InterpolationError(Exception):
    """Raised once per text, carrying every issue found in it (not just the first)."""

    def __init__(self, issues: Iterable[InterpolationIssue]) -> None:
        self.issues: list[InterpolationIssue] = list(issues)
        # Passing the issues (not a message) keeps the exception picklable.
        super().__init__(self.issues)

    def __str__(self) -> str:
        return "; ".join(_describe(issue) for issue in self.issues)


def _describe(issue: InterpolationIssue) -> str:
    """Name the variable unless the message already does (a user's ``:?`` message may not)."""
    if not issue.variable or issue.message.startswith(f"required variable {issue.variable} "):
        return issue.message
    return f"{issue.variable}: {issue.message}"


def interpolate(text: str, lookup: Lookup, *, allow_unset: bool = False) -> str:
    """Expand ``text`` with Compose semantics (used for values in config files).

    ``$$`` is a literal ``$``; a ``$`` that starts neither a name, ``$`` nor ``{`` is
    kept as it is (``$(id)``, a trailing ``$``).

    Args:
        text: The text to expand.
        lookup: Returns a variable's value, or ``None`` when it is unset.
        allow_unset: Expand an unset variable without a default to ``""`` (what Compose
            does, with a warning) instead of reporting it.

    Raises:
        InterpolationError: With every unset variable, failed ``?``/``:?`` check and
            malformed reference (``${ foo}``, ``${foo!}``, ``${}``, unterminated ``${``).
    """
    if "$" not in text:
        return text
    return _Expander(text, lookup, compose=True, allow_unset=allow_unset).run()


def envsubst(
    text: str,
    lookup: Lookup,
    *,
    name_filter: re.Pattern[str] | None = None,
    strict: bool = False,
) -> str:
    """Expand ``text`` like the nginx image's envsubst, plus the Compose operators.

    For ``$VAR`` and ``${VAR}`` the output is byte-identical to GNU ``envsubst`` given
    the ``${NAME}`` of every defined variable, as the nginx image's
    ``20-envsubst-on-templates.sh`` calls it: only defined variables are replaced, so
    nginx's own ``$host`` survives; ``$$`` is not an escape; text that is not a valid
    reference is left as it is. The Compose operators apply to names the filter accepts
    when their braces close; otherwise the text is copied as GNU envsubst would, so a
    rejected ``${NOPE:-x}`` stays as it is (and a ``$VAR`` inside it is still expanded).

    Args:
        text: The template text.
        lookup: Returns a variable's value, or ``None`` when it is unset.
        name_filter: Only names it matches are replaced: its ``search(name)`` is called
            (unanchored, like ``NGINX_ENVSUBST_FILTER``), so the caller compiles it.
        strict: Report a braced ``${VAR}`` of an undefined variable; a bare ``$name``
            is never reported.

    Raises:
        InterpolationError: With every failed ``?``/``:?`` check (and, when strict,
            every undefined ``${VAR}``).
    """
    if "$" not in text:
        return text
    return _Expander(text, lookup, compose=False, name_filter=name_filter, strict=strict).run()


def references(text: str) -> set[str]:
    """Return the name of every variable ``text`` may look up, in either mode.

    Callers use it to read ``VAR_FILE`` only for variables a text actually uses. It is a
    superset: it also lists names after an escaped ``$$`` and in unused defaults.
    """
    names: set[str] = set()
    for piece in text.split("$")[1:]:
        if piece[:1] == "{":
            piece = piece[1:]
        if piece[:1] in _NAME_START:
            names.add(piece[: len(piece) - len(piece.lstrip(_NAME_CHARS))])
    return names


def line_of(text: str, offset: int) -> int:
    """Return the 1-based line number of ``offset`` in ``text`` (to turn issues into file:line)."""
    return text.count("\n", 0, max(offset, 0)) + 1


class _Expander:
    """The state of one call: the text, the options and the issues found so far.

    Each scanner walks ``text[start:end]`` split at ``$``, keeping ``at``, the offset of
    the ``$`` before the current piece: issues point there, and a form that goes on past
    its piece gives the offset to resume at (:meth:`_resume`).
    """

    def __init__(
        self,
        text: str,
        lookup: Lookup,
        *,
        compose: bool,
        allow_unset: bool = False,
        name_filter: re.Pattern[str] | None = None,
        strict: bool = False,
    ) -> None:
        self.text = text
        self.lookup = lookup
        self.compose = compose
        self.allow_unset = allow_unset
        self.name_filter = name_filter
        self.strict = strict
        self.issues: list[InterpolationIssue] = []
        self._ascii = text.isascii()  # then str.isidentifier() alone tells a name
        self._pairs: dict[int, int] | None = None
        self._accepted: dict[str, bool] = {}

    def run(self) -> str:
        result = self.expand(0, len(self.text), 0)
        if self.issues:
            raise InterpolationError(sorted(self.issues, key=lambda i: i.offset))
        return result

    def expand(self, start: int, end: int, depth: int) -> str:
        """Expand ``text[start:end]`` in this call's mode."""
        if self.compose:
            return self._compose(start, end, True, depth)
        return self._envsubst(start, end, depth)

    def _envsubst(self, start: int, end: int, depth: int) -> str:
        """Expand like GNU envsubst: only defined (and accepted) names; the rest is text."""
        lookup = self.lookup
        accepts = None if self.name_filter is None else self._accepts
        is_ascii = self._ascii
        pieces = iter(self.text[start:end].split("$"))
        out = [next(pieces)]
        append = out.append
        at = start + len(out[0])
        for piece in pieces:
            if piece[:1] == "{":
                close = piece.find("}")
                name = piece[1:close]
                if close > 1 and name.isidentifier() and (is_ascii or name.isascii()):
                    if accepts is None or accepts(name):
                        value = lookup(name)
                        if value is not None:
                            append(value)
                            append(piece[close + 1 :])
                            at += len(piece) + 1
                            continue
                        if self.strict:  # a bare $host is never reported: it is nginx's
                            self._issue(name, f"required variable {name} is not set", at)
                # GNU envsubst copies a rejected or unclosed "${NAME:-" and rescans after
                # the name, so "${NOPE:-$B}" still expands "$B": the piece is text.
                elif (form := self._operator(piece, at, True, depth)) is not None:
                    append(form[0])
                    at = self._resume(pieces, at + len(piece) + 1, form[1], out)
                    continue
            elif piece[:1] in _NAME_START:
                rest = piece.lstrip(_NAME_CHARS)
                name = piece[: len(piece) - len(rest)]
                if accepts is None or accepts(name):
                    value = lookup(name)
                    if value is not None:
                        append(value)
                        append(rest)
                        at += len(piece) + 1
                        continue
            append("$")
            append(piece)
            at += len(piece) + 1
        return "".join(out)

    def _compose(self, start: int, end: int, evaluate: bool, depth: int) -> str:
        """Expand with Compose semantics; with ``evaluate`` false, only check the syntax."""
        is_ascii = self._ascii
        pieces = iter(self.text[start:end].split("$"))
        out = [next(pieces)]
        append = out.append
        at = start + len(out[0])
        for piece in pieces:
            if piece[:1] == "{":
                close = piece.find("}")
                name = piece[1:close]
                if close > 1 and name.isidentifier() and (is_ascii or name.isascii()):
                    if evaluate:
                        append(self._value(name, at))
                    append(piece[close + 1 :])
                else:
                    form = self._operator(piece, at, evaluate, depth)
                    value, resume = ("", self._invalid(at, end)) if form is None else form
                    append(value)
                    at = self._resume(pieces, at + len(piece) + 1, resume, out)
                    continue
            elif piece[:1] in _NAME_START:
                rest = piece.lstrip(_NAME_CHARS)
                if evaluate:
                    append(self._value(piece[: len(piece) - len(rest)], at))
                append(rest)
            elif not piece and at + 1 < end:  # "$$": the next piece is text
                append("$")
                at = self._resume(pieces, at + 1, at + 2, out)
                continue
            else:
                append("$")
                append(piece)
            at += len(piece) + 1
        return "".join(out)

    def _resume(self, pieces: Iterator[str], at: int, resume: int, out: list[str]) -> int:
        """Skip the pieces before ``resume``, from ``at`` (the end of the current piece).

        Returns where the next piece starts; the rest of the piece that ``resume`` falls
        in is text, as no piece holds a ``$``.
        """
        while at < resume:
            at += len(next(pieces)) + 1
        if resume < at:
            out.append(self.text[resume:at])
        return at

    def _value(self, name: str, at: int) -> str:
        """Return a plain Compose reference's value ("" and an issue when it is unset)."""
        value = self.lookup(name)
        if value is not None:
            return value
        if not self.allow_unset:
            self._issue(name, f"required variable {name} is not set", at)
        return ""

    def _operator(self, piece: str, at: int, evaluate: bool, depth: int) -> tuple[str, int] | None:
        """Expand the ``${NAME<op>word}`` at ``at`` (``piece`` is its text up to a ``$``).

        Returns the replacement and the offset to resume at, or None when it is no
        operator form, its braces do not close, or the name filter rejects the name.
        """
        if piece[1:2] not in _NAME_START:
            return None
        rest = piece[2:].lstrip(_NAME_CHARS)
        name = piece[1 : len(piece) - len(rest)]
        op = rest[:2] if rest[:1] == ":" else rest[:1]
        if op[-1:] not in _OPERATORS or not self._accepts(name):
            return None
        close = self._closing_brace(at)
        if close is None:
            return None
        word = at + 2 + len(name) + len(op)
        resume = close + 1
        if depth >= _MAX_DEPTH:
            self._issue(name, "interpolation is nested too deeply", at)
            return "", resume
        if not evaluate:
            self._compose(word, close, False, depth + 1)
            return "", resume
        value = self.lookup(name)
        missing = value is None or (op[0] == ":" and value == "")
        kind = op[-1]
        if kind == "?" and missing:
            given = self.expand(word, close, depth + 1)
            state = "is not set" if value is None else "is empty"
            # As compose-go says it: the variable is always named, then the user's message.
            message = f"required variable {name} {state}" + (f": {given}" if given else "")
            self._issue(name, message, at)
            return "", resume
        # "-" uses the word when the value is missing, "+" when it is present.
        if (kind == "-" and missing) or (kind == "+" and not missing):
            return self.expand(word, close, depth + 1), resume
        if self.compose:  # report syntax errors in an unused word; envsubst has none
            self._compose(word, close, False, depth + 1)
        return ("" if kind == "+" else value or ""), resume

    def _invalid(self, at: int, end: int) -> int:
        """Report a malformed ``${...`` in Compose mode and return where to resume."""
        text = self.text
        eol = text.find("\n", at, end)
        if eol < 0:
            eol = end
        # Resume after the matching "}" when it is on the same line; otherwise the
        # reference is effectively unterminated and the rest of the line is its text.
        close = self._closing_brace(at, eol)
        stop = close + 1 if close is not None and close < eol else eol
        snippet = text[at:stop]
        if len(snippet) > _SNIPPET_MAX:
            snippet = snippet[: _SNIPPET_MAX - 3] + "..."
        self._issue("", f"invalid interpolation format '{snippet}'", at)
        return stop

    def _issue(self, name: str, message: str, at: int) -> None:
        self.issues.append(InterpolationIssue(name, message, at))

    def _accepts(self, name: str) -> bool:
        """Return whether the envsubst name filter lets ``name`` be replaced."""
        if self.name_filter is None:
            return True
        accepted = self._accepted.get(name)
        if accepted is None:
            accepted = self._accepted[name] = self.name_filter.search(name) is not None
        return accepted

    def _closing_brace(self, at: int, limit: int | None = None) -> int | None:
        """Return the offset of the ``}`` that closes the ``${`` at ``at``, or None.

        Braces nest: a bare ``{`` in a word opens too, as compose-go pairs them (bash
        gives ``{"json":2}}`` for ``${JSON:-{"json":1}}``). A word is short, so scan from
        ``at``, one ``}`` at a time; the first time that runs off the end of the text, pair
        every brace at once, so unterminated references cannot make a text quadratic. No
        scan goes past ``limit`` (the end of a malformed reference's line), if given.
        """
        if self._pairs is not None:
            return self._pairs.get(at + 1)
        text = self.text
        depth = 1
        pos = at + 2
        while (close := text.find("}", pos, len(text) if limit is None else limit)) >= 0:
            depth += text.count("{", pos, close) - 1
            if depth == 0:
                return close
            pos = close + 1
        if limit is None:
            self._pairs = self._pair_all()
        return None

    def _pair_all(self) -> dict[int, int]:
        """Map the offset of every ``{`` that is closed to the offset of its ``}``."""
        text = self.text
        pairs: dict[int, int] = {}
        stack: list[int] = []
        brace = text.find("{")
        close = text.find("}")
        while close >= 0:
            while 0 <= brace < close:
                stack.append(brace)
                brace = text.find("{", brace + 1)
            if stack:
                pairs[stack.pop()] = close
            close = text.find("}", close + 1)
        return pairs
