"""Parse JSON config text into a raw tree, each leaf at the line of its key.

:mod:`json` gives no line numbers, accepts ``NaN``/``Infinity``, keeps the last of
duplicate keys and recurses without limit, so one pass over the tokens first finds key
lines and reports those; values stay :mod:`json`'s native values.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import NoReturn

from envconf.errors import ConfigError, Problem
from envconf.load.formats.common import (
    MAX_DEPTH,
    MAX_INT_DIGITS,
    TOO_DEEP,
    file_problem,
    int_digit_limit,
    native_tree,
)
from envconf.load.tree import Tree

__all__ = ["parse_json"]

_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]

# A string (a key when ':' follows), a bracket or a comma: all that key lines need.
_JSON_STRING = r'"([^"\\]*(?:\\.[^"\\]*)*)"([ \t\r\n]*:)?'
_JSON_TOKEN = re.compile(_JSON_STRING + r"|[{}\[\],]")
# ... and the numbers and constants that json accepts but envconf does not.
_JSON_TOKEN_ALL = re.compile(
    _JSON_STRING + r"|[{}\[\],]|(-?\d+)(\.\d+)?([eE][-+]?\d+)?|NaN|-?Infinity"
)


class _JsonFrame:
    __slots__ = ("index", "key", "keys", "name", "path")

    def __init__(self, keys: dict[str, int] | None, name: str, path: tuple[str, ...] | None):
        self.keys = keys  # None for an array
        self.key: str | None = None  # the last key read, None while a key is expected
        self.index = 0
        self.name = name
        self.path = path  # the key path when no array is above, else None

    def child_path(self) -> tuple[str, ...] | None:
        if self.keys is None or self.key is None or self.path is None:
            return None
        return (*self.path, self.key)

    def child_name(self) -> str:
        if self.keys is None:
            return f"{self.name}[{self.index}]"
        return f"{self.name}.{self.key}" if self.name else str(self.key)


def parse_json(text: str, label: str) -> Tree:
    """Parse decoded JSON text into a raw tree (``{}`` for blank text).

    Raises:
        ConfigError: The text is not valid JSON with an object at the top, or holds
            duplicate keys, ``NaN``/``Infinity``, numbers too long or large, or nesting
            too deep; every problem found is listed.
    """
    if not text.strip():
        return {}
    problems: list[Problem] = []
    lines = _json_key_lines(text, label, problems)
    try:
        if problems:  # keep parsing only to report syntax errors too
            value = json.loads(text, parse_constant=lambda _: None, parse_int=_json_int)
        else:
            value = json.loads(text, parse_constant=_json_constant)
    except json.JSONDecodeError as exc:
        problems.append(file_problem(label, exc.lineno, f"invalid JSON: {exc.msg}"))
    except (ValueError, RecursionError) as exc:  # pragma: no cover - the scan catches these
        problems.append(file_problem(label, 1, f"invalid JSON: {type(exc).__name__}"))
    if problems:
        raise ConfigError(problems)
    if not isinstance(value, dict):
        line = text.count("\n", 0, len(text) - len(text.lstrip())) + 1
        raise ConfigError([file_problem(label, line, "the top level must be an object")])
    return native_tree(value, label, lines, problems)


def _json_int(text: str) -> int:
    return int(text) if len(text) <= MAX_INT_DIGITS else 0


def _json_constant(name: str) -> NoReturn:
    raise ValueError(name)


def _json_key_lines(text: str, label: str, problems: list[Problem]) -> dict[tuple[str, ...], int]:
    """Map the path of every key outside arrays to its line; report what json lets by.

    ``json`` gives no line numbers, accepts ``NaN``/``Infinity``, keeps the last of
    duplicate keys and recurses without limit, so one pass over the tokens finds those.
    """
    limit = int_digit_limit()
    # Numbers only matter when one may be too long or too large: look for a suspect first.
    suspect = re.search(r"\d{200}|NaN|Infinity|[eE][-+]?\d{3}", text)
    tokens = _JSON_TOKEN_ALL if suspect else _JSON_TOKEN
    lines: dict[tuple[str, ...], int] = {}
    stack: list[_JsonFrame] = []
    line, counted = 1, 0

    def line_at(pos: int) -> int:
        nonlocal line, counted
        line += text.count("\n", counted, pos)
        counted = pos
        return line

    pos = 0
    while (match := tokens.search(text, pos)) is not None:
        start, pos = match.span()
        first = text[start]
        frame = stack[-1] if stack else None
        if first == '"':
            if match.group(2) is None or frame is None or frame.keys is None:
                continue  # a string value
            key = match.group(1)
            if "\\" in key:
                try:
                    key = _scanstring(text, start + 1)[0]
                except ValueError:
                    continue  # json.loads reports it
            frame.key = key
            if key in frame.keys:
                message = f"duplicate key, first defined on line {frame.keys[key]}"
                problems.append(file_problem(label, line_at(start), message, frame.child_name()))
            else:
                frame.keys[key] = line_at(start)
                if frame.path is not None:
                    key_path = (*frame.path, key)
                    lines[key_path] = line
        elif first in "{[":
            if len(stack) >= MAX_DEPTH:
                top = stack[0] if stack else None  # name the top-level key holding it
                key = top.child_name() if top is not None and top.keys is not None else ""
                problems.append(file_problem(label, line_at(start), TOO_DEEP, key))
                raise ConfigError(problems)
            name: str = ""
            path: tuple[str, ...] | None = ()
            if frame is not None:
                name, path = frame.child_name(), frame.child_path()
            stack.append(_JsonFrame({} if first == "{" else None, name, path))
        elif first in "}]":
            if stack:
                stack.pop()
        elif first == ",":
            if frame is not None:
                frame.index += 1
        else:
            where = frame.child_name() if frame is not None else ""
            token, digits, fraction, exponent = match.group(0, 3, 4, 5)
            if digits is None:
                message = f"{token} is not allowed in JSON"
            elif fraction is None and exponent is None:
                if len(digits.lstrip("-")) <= limit:
                    continue
                message = f"integer has more than {limit} digits"
            elif math.isinf(float(token)):
                message = "number is too large"
            else:
                continue
            problems.append(file_problem(label, line_at(start), message, where))
    return lines
