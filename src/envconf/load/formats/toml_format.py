"""Parse TOML config text into a raw tree, each leaf at the line of its key.

:mod:`tomllib` gives no line numbers, so valid TOML is read again one statement at a
time to map every key path to its line; values stay :mod:`tomllib`'s native values.
"""

from __future__ import annotations

import re
import sys

from envconf.errors import ConfigError, Problem
from envconf.load.formats.common import (
    MAX_DEPTH,
    TOO_DEEP,
    file_problem,
    int_digit_limit,
    last_line,
    native_tree,
)
from envconf.load.tree import Tree

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = ["parse_toml"]

_TOML_ERROR_AT = re.compile(r"^(.*) \(at (?:line (\d+), column \d+|end of document)\)$", re.S)
_TOML_SPACE = re.compile(r"(?:[ \t\r\n]+|#[^\n]*)*")
_TOML_KEY = re.compile(r'[ \t]*(?:([A-Za-z0-9_-]+)|"((?:[^"\\\n]|\\.)*)"|\'([^\'\n]*)\')[ \t]*')
_TOML_VALUE_TOKEN = re.compile(r"\"\"\"|'''|[\"'\[\]{}#\n]")
_TOML_STRING_END = {
    '"""': re.compile(r'[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*"""(?:"{0,2})', re.S),
    "'''": re.compile(r"[^']*(?:'(?!'')[^']*)*'''(?:'{0,2})"),
    '"': re.compile(r'(?:[^"\\\n]|\\.)*"'),
    "'": re.compile(r"[^'\n]*'"),
}
_TOML_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|x([0-9A-Fa-f]{2})|(.))")
_TOML_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", "e": "\x1b"}


def parse_toml(text: str, label: str) -> Tree:
    """Parse decoded TOML text into a raw tree.

    Raises:
        ConfigError: The text is not valid TOML, or nests too deep, or holds an integer
            too long to convert; every problem found is listed.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, message = _toml_error(exc, text)
        raise ConfigError([file_problem(label, line, f"invalid TOML: {message}")]) from None
    except RecursionError:
        lines, deep = _toml_key_lines(text)
        line = deep or 1
        key = max((p for p, n in lines.items() if n == line), key=len, default=())
        raise ConfigError([file_problem(label, line, TOO_DEEP, ".".join(key))]) from None
    except ValueError:  # tomllib's int() of a literal beyond the interpreter's digit limit
        raise ConfigError([_toml_long_int(text, label)]) from None
    problems: list[Problem] = []
    tree = native_tree(data, label, _toml_key_lines(text)[0], problems)
    if problems:
        raise ConfigError(problems)
    return tree


def _toml_long_int(text: str, label: str) -> Problem:
    """Locate the integer literal too long for ``int()`` and the key it belongs to."""
    limit = int_digit_limit()
    match = re.search(r"[0-9](?:_?[0-9]){" + str(limit) + ",}", text)
    line = text.count("\n", 0, match.start()) + 1 if match else last_line(text)
    lines = _toml_key_lines(text)[0]
    key = max((p for p, n in lines.items() if n == line), key=len, default=())
    return file_problem(label, line, f"integer has more than {limit} digits", ".".join(key))


def _toml_error(exc: tomllib.TOMLDecodeError, text: str) -> tuple[int, str]:
    lineno = getattr(exc, "lineno", None)  # Python 3.14+
    message = getattr(exc, "msg", None)
    match = _TOML_ERROR_AT.match(str(exc))
    if message is None:
        message = match.group(1) if match else str(exc)
    if lineno is None:
        lineno = int(match.group(2)) if match and match.group(2) else last_line(text)
    return int(lineno), str(message)


def _toml_key_lines(text: str) -> tuple[dict[tuple[str, ...], int], int | None]:
    """Map each table header and key path to its line, reading valid TOML one statement
    at a time; return also the line of the first value nested too deep, if any."""
    lines: dict[tuple[str, ...], int] = {}
    deep_line: int | None = None
    table: tuple[str, ...] = ()
    line, counted, pos = 1, 0, 0
    while True:
        match = _TOML_SPACE.match(text, pos)
        pos = match.end() if match else pos
        if pos >= len(text):
            break
        line += text.count("\n", counted, pos)
        counted = pos
        if text[pos] == "[":  # [table] or [[array of tables]]
            close = "]]" if text.startswith("[[", pos) else "]"
            keys, pos = _toml_key(text, pos + len(close))
            if keys is not None and text.startswith(close, pos):
                table = keys
                for end in range(1, len(keys) + 1):
                    lines.setdefault(keys[:end], line)
            pos = _toml_line_end(text, pos)
            continue
        keys, pos = _toml_key(text, pos)
        if keys is None or not text.startswith("=", pos):
            pos = _toml_line_end(text, pos)
            continue
        full = table + keys
        for end in range(len(table) + 1, len(full) + 1):
            lines.setdefault(full[:end], line)
        pos, depth = _toml_skip_value(text, pos + 1)
        if deep_line is None and len(full) + depth > MAX_DEPTH:
            deep_line = line
    return lines, deep_line


def _toml_key(text: str, pos: int) -> tuple[tuple[str, ...] | None, int]:
    parts: list[str] = []
    while (match := _TOML_KEY.match(text, pos)) is not None:
        bare, basic, literal = match.groups()
        if basic is not None:
            parts.append(_TOML_ESCAPE.sub(_toml_unescape, basic))
        else:
            parts.append(bare if bare is not None else literal)
        pos = match.end()
        if not text.startswith(".", pos):
            return tuple(parts), pos
        pos += 1
    return None, pos


def _toml_unescape(match: re.Match[str]) -> str:
    code = match.group(1) or match.group(2) or match.group(3)
    if code is not None:
        return chr(int(code, 16))
    char = match.group(4)
    return _TOML_ESCAPES.get(char, char)


def _toml_skip_value(text: str, pos: int) -> tuple[int, int]:
    """Return where the value starting at ``pos`` ends and how deeply it nests."""
    depth = deepest = 0
    while (match := _TOML_VALUE_TOKEN.search(text, pos)) is not None:
        token, pos = match.group(), match.end()
        if token == "\n":
            if depth <= 0:
                return pos, deepest
        elif token == "#":
            end = text.find("\n", pos)
            pos = len(text) if end < 0 else end
        elif token in ("[", "{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in ("]", "}"):
            depth -= 1
        else:
            end_match = _TOML_STRING_END[token].match(text, pos)
            pos = end_match.end() if end_match else len(text)
    return len(text), deepest


def _toml_line_end(text: str, pos: int) -> int:
    end = text.find("\n", pos)
    return len(text) if end < 0 else end + 1
