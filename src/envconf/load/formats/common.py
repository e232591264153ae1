"""What the config file parsers share: limits, decoding, problems, leaves, native trees.

Only the standard library's lightest parts and envconf's own error and tree types are
imported here, so that :mod:`envconf.sources.formats` can re-export the limits without
loading any parser.
"""

from __future__ import annotations

import sys
from typing import Any

from envconf.errors import ConfigError, Problem
from envconf.load.tree import Branch, Leaf, Tree
from envconf.origin import Origin

__all__ = [
    "MAX_ALIAS_NODES",
    "MAX_DEPTH",
    "MAX_INT_DIGITS",
    "TOO_DEEP",
    "decode",
    "file_leaf",
    "file_problem",
    "int_digit_limit",
    "last_line",
    "native_tree",
    "shallow_key",
]

#: Deepest nesting of mappings and lists accepted in a config file (top level = 1).
MAX_DEPTH = 100
#: Most nodes that YAML aliases may expand to in one document.
MAX_ALIAS_NODES = 100_000
#: Longest integer literal accepted (CPython's default ``int`` conversion limit).
MAX_INT_DIGITS = 4300

#: The message for a value nested deeper than :data:`MAX_DEPTH`.
TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"

_BOM = b"\xef\xbb\xbf"


def decode(data: bytes, label: str) -> str:
    """Decode a config file's bytes as UTF-8, ignoring a BOM.

    Raises:
        ConfigError: The bytes are not UTF-8; the problem names the first bad line.
    """
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        problem = file_problem(label, line, "is not valid UTF-8 text (config files must be UTF-8)")
        raise ConfigError([problem]) from None


def file_problem(label: str, line: int, message: str, key: str = "") -> Problem:
    """Build a problem located at ``label:line``."""
    return Problem(key=key, message=message, source="file", location=f"{label}:{line}")


def file_leaf(value: Any, label: str, line: int) -> Leaf:
    """Build a leaf read from a config file at ``label:line``."""
    return Leaf(value, Origin("file", f"{label}:{line}"), interpolate=True)


def last_line(text: str) -> int:
    """Return the number of the text's last line (1 for empty text)."""
    return max(1, text.count("\n") + (not text.endswith("\n")))


def shallow_key(key: str) -> str:
    """The first levels of a too-deep key: enough to find it, short enough to read."""
    return ".".join(key.partition("[")[0].split(".")[:3])


def int_digit_limit() -> int:
    """Return the longest integer literal accepted here and by this interpreter's ``int()``."""
    limit: int = getattr(sys, "get_int_max_str_digits", lambda: 0)()
    return min(limit, MAX_INT_DIGITS) if limit > 0 else MAX_INT_DIGITS


def native_tree(
    mapping: dict[str, Any],
    label: str,
    lines: dict[tuple[str, ...], int],
    problems: list[Problem],
    path: tuple[str, ...] = (),
) -> Tree:
    """Turn a parsed JSON or TOML mapping into a tree, each leaf at its key's line.

    Args:
        mapping: The parser's native values.
        label: The file's path as shown to users.
        lines: The line of each key path (a missing path takes its nearest parent's).
        problems: Where values nested deeper than :data:`MAX_DEPTH` are reported.
        path: The key path of ``mapping`` itself.
    """
    tree: Tree = {}
    for key, value in mapping.items():
        here = (*path, key)
        if isinstance(value, dict):
            if len(here) >= MAX_DEPTH:
                line = _line_for(lines, here)
                problems.append(file_problem(label, line, TOO_DEEP, shallow_key(".".join(here))))
                continue
            branch = Branch(Origin("file", f"{label}:{_line_for(lines, here)}"))
            branch.update(native_tree(value, label, lines, problems, here))
            tree[key] = branch
            continue
        line = _line_for(lines, here)
        if isinstance(value, list) and _nests_deeper(value, MAX_DEPTH - len(here)):
            problems.append(file_problem(label, line, TOO_DEEP, shallow_key(".".join(here))))
        tree[key] = file_leaf(value, label, line)
    return tree


def _line_for(lines: dict[tuple[str, ...], int], path: tuple[str, ...]) -> int:
    for end in range(len(path), 0, -1):
        line = lines.get(path[:end])
        if line is not None:
            return line
    return 1


def _nests_deeper(value: list[Any], levels: int) -> bool:
    """Say whether ``value`` holds more than ``levels`` levels of lists and dicts."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > levels:
            return True
        children = item.values() if isinstance(item, dict) else item
        pending.extend((child, depth + 1) for child in children if isinstance(child, (list, dict)))
    return False
