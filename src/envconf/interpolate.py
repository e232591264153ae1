"""``${VAR}`` interpolation: Compose mode for config files, envsubst mode for templates.

One scanner serves both the settings loader (:func:`interpolate`, docker compose semantics)
and ``envconf render``'s envsubst engine (:func:`envsubst`, byte-compatible with the
official nginx image for ``$VAR``/``${VAR}``, plus the Compose operators).

This module imports only the standard library: it runs at every container start, before
anything heavy is loaded, and must stay fast. Plain ``$VAR``/``${VAR}`` references are
replaced by ``re.sub`` over whole stretches of text; only operator forms, ``$$`` and
malformed references are handled one by one.

Semantics shared by both modes:

- A value is never expanded again (single pass), so an env value cannot inject references.
- ``${VAR:-x}`` / ``${VAR-x}`` / ``${VAR:+x}`` / ``${VAR+x}`` / ``${VAR:?x}`` / ``${VAR?x}``
  follow the Compose specification; the word after the operator may hold references and
  balanced braces (``${JSON:-{"a":1}}``, as compose-go pairs them), and it is expanded
  only when it is used.
- Every problem in a text is collected and raised once, as :class:`InterpolationError`.

Where Compose mode departs from compose-go, on purpose: an unset variable without a
default is an error unless ``allow_unset`` (Compose warns and uses ""); a ``$`` that starts
no reference is text, not an error (``$(id)``, ``$ 5``); a default is expanded only when
used (compose-go expands it first, so ``${SET:-${X:?}}`` fails there); a malformed
reference in an unused default is still reported (a template error should not depend on
the environment).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import NamedTuple

__all__ = [
    "InterpolationError",
    "InterpolationIssue",
    "Lookup",
    "envsubst",
    "interpolate",
    "line_of",
    "references",
]

#: Returns a variable's value, or ``None`` when it is unset (distinct from set-but-empty).
Lookup = Callable[[str], str | None]

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
# Plain references, the bulk of any template, are replaced by one re.sub() per stretch of
# text between "special" tokens; only those (operators, escapes, errors) are walked one by
# one, because an operator's word must be skipped or expanded as a whole.
_PLAIN = re.compile(rf"\$(?:\{{({_NAME})\}}|({_NAME}))")
# Compose specials: 1 the "$$" escape; "${" not starting a plain "${NAME}", with 2 the name
# and 3 the operator when it is an operator form (without them it is an error).
_COMPOSE_SPECIAL = re.compile(rf"\$(?:(\$)|\{{(?!{_NAME}\}})(?:({_NAME})(:?[-+?]))?)")
# envsubst specials: only operator forms, 1 the name, 2 the operator. There is no escape and
# anything malformed is text, as in GNU envsubst.
_ENVSUBST_SPECIAL = re.compile(rf"\$\{{({_NAME})(:?[-+?])")
# Every name right after "$" or "${": a superset of what either mode looks up.
_REFERENCE = re.compile(rf"\$\{{?({_NAME})")
# Braces for pairing "${" with its "}": every "{" in an operator's word opens, as in
# compose-go (so "${JSON:-{"json":1}}" has the word '{"json":1}'); the shell pairs only "${".
_BRACES = re.compile(r"[{}]")

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
        name_filter: Only names it matches (``re.search``, unanchored, like
            ``NGINX_ENVSUBST_FILTER``) are replaced.
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
    if "$" not in text:
        return set()
    return {m[1] for m in _REFERENCE.finditer(text)}


def line_of(text: str, offset: int) -> int:
    """Return the 1-based line number of ``offset`` in ``text`` (to turn issues into file:line)."""
    return text.count("\n", 0, max(offset, 0)) + 1


class _Expander:
    """The state of one call: the text, the options and the issues found so far."""

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
        self._special = _COMPOSE_SPECIAL if compose else _ENVSUBST_SPECIAL
        self._pairs: dict[int, int] | None = None
        self._accepted: dict[str, bool] = {}
        self._base = 0  # offset of the stretch _replace_plain is working on

    def run(self) -> str:
        result = self.expand(0, len(self.text), evaluate=True, depth=0)
        if self.issues:
            raise InterpolationError(sorted(self.issues, key=lambda i: i.offset))
        return result

    def expand(self, start: int, end: int, *, evaluate: bool, depth: int) -> str:
        """Expand ``text[start:end]``; with ``evaluate`` false, only check its syntax."""
        text = self.text
        search = self._special.search
        handle = self._compose_special if self.compose else self._envsubst_special
        out: list[str] = []
        pos = start
        while (token := search(text, pos, end)) is not None:
            if evaluate:
                out.append(self._expand_plain(pos, token.start()))
            piece, pos = handle(token, end, evaluate, depth)
            out.append(piece)
        if evaluate:
            out.append(self._expand_plain(pos, end))
        return "".join(out)

    def _expand_plain(self, start: int, end: int) -> str:
        """Expand a stretch of text that holds no special token."""
        chunk = self.text[start:end]
        if "$" not in chunk:
            return chunk
        self._base = start
        return _PLAIN.sub(self._replace_plain, chunk)

    def _replace_plain(self, match: re.Match[str]) -> str:
        braced, bare = match.groups()
        name = bare if braced is None else braced
        if self.name_filter is not None and not self._accepts(name):
            return match[0]
        value = self.lookup(name)
        if value is not None:
            return value
        at = self._base + match.start()
        if self.compose:
            if not self.allow_unset:
                self._issue(name, f"required variable {name} is not set", at)
            return ""
        if self.strict and braced is not None:  # nginx's bare $host must survive strict mode
            self._issue(name, f"required variable {name} is not set", at)
        return match[0]

    # Each handler gets a special token and the end of the text being expanded; it returns
    # the replacement and the offset to resume scanning at.

    def _compose_special(
        self, token: re.Match[str], end: int, evaluate: bool, depth: int
    ) -> tuple[str, int]:
        escape, name, op = token.groups()
        if escape is not None:
            return "$", token.end()
        at = token.start()
        close = None if op is None else self._closing_brace(at)
        if close is None:
            return "", self._invalid(at, end)
        return self._operator(name, op, at, token.end(), close, evaluate, depth)

    def _envsubst_special(
        self, token: re.Match[str], end: int, evaluate: bool, depth: int
    ) -> tuple[str, int]:
        name, op = token.groups()
        at = token.start()
        close = self._closing_brace(at) if self._accepts(name) else None
        if close is None:
            # Not ours to expand: copy "${NAME" and rescan right after the name, as GNU
            # envsubst does, so "${NOPE:-$B}" still expands "$B".
            after_name = token.end(1)
            return token.string[at:after_name], after_name
        return self._operator(name, op, at, token.end(), close, evaluate, depth)

    def _operator(
        self,
        name: str,
        op: str,
        at: int,
        word: int,
        close: int,
        evaluate: bool,
        depth: int,
    ) -> tuple[str, int]:
        """Expand ``${NAME<op>word}``; ``text[word:close]`` is the word."""
        resume = close + 1
        if depth >= _MAX_DEPTH:
            self._issue(name, "interpolation is nested too deeply", at)
            return "", resume
        if not evaluate:
            self._check(word, close, depth + 1)
            return "", resume
        value = self.lookup(name)
        missing = value is None or (op[0] == ":" and value == "")
        kind = op[-1]
        if kind == "?" and missing:
            given = self.expand(word, close, evaluate=True, depth=depth + 1)
            state = "is not set" if value is None else "is empty"
            # As compose-go says it: the variable is always named, then the user's message.
            message = f"required variable {name} {state}" + (f": {given}" if given else "")
            self._issue(name, message, at)
            return "", resume
        # "-" uses the word when the value is missing, "+" when it is present.
        if (kind == "-" and missing) or (kind == "+" and not missing):
            return self.expand(word, close, evaluate=True, depth=depth + 1), resume
        self._check(word, close, depth + 1)
        return ("" if kind == "+" else value or ""), resume

    def _check(self, start: int, end: int, depth: int) -> None:
        """Report syntax errors in an unused word (Compose only; envsubst has none)."""
        if self.compose:
            self.expand(start, end, evaluate=False, depth=depth)

    def _invalid(self, at: int, end: int) -> int:
        """Report a malformed ``${...`` in Compose mode and return where to resume."""
        text = self.text
        eol = text.find("\n", at, end)
        if eol < 0:
            eol = end
        close = self._closing_brace(at)
        # Resume after the matching "}" when it is on the same line; otherwise the
        # reference is effectively unterminated and the rest of the line is its text.
        stop = close + 1 if close is not None and close < eol else eol
        snippet = text[at:stop]
        if len(snippet) > _SNIPPET_MAX:
            snippet = snippet[: _SNIPPET_MAX - 3] + "..."
        self._issue("", f"invalid interpolation format '{snippet}'", at)
        return stop

    # -- helpers --------------------------------------------------------------------------

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

    def _closing_brace(self, at: int) -> int | None:
        """Return the offset of the ``}`` that closes the ``${`` at ``at``, or None.

        Braces nest: a bare ``{`` in a word opens too, as compose-go pairs them (the
        shell does not: bash gives ``{"json":2}}`` for ``${JSON:-{"json":1}}``). The usual
        word is a few characters, so scan forward from ``at``; the first time that runs off
        the end, pair every brace of the text at once, so unterminated references cannot
        make a long text quadratic.
        """
        if self._pairs is not None:
            return self._pairs.get(at)
        depth = 0
        for brace in _BRACES.finditer(self.text, at):
            if brace[0] == "}":
                depth -= 1
                if depth == 0:
                    return brace.start()
            else:
                depth += 1
        self._pairs = self._pair_all()
        return None

    def _pair_all(self) -> dict[int, int]:
        pairs: dict[int, int] = {}
        stack: list[int] = []
        for brace in _BRACES.finditer(self.text):
            if brace[0] == "}":
                if stack:
                    pairs[stack.pop()] = brace.start()
            else:
                stack.append(brace.start())
        return pairs
