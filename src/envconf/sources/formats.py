"""Parse config file bytes (YAML, JSON, TOML, ``.env``) into raw trees with line numbers.

Parsers here only *find* values. A YAML scalar stays a :class:`~envconf.tree.Scalar`
holding its text exactly as written (the target field's type decides what ``012`` means);
JSON and TOML values stay the parser's native values. Every leaf is located at the line of
its key, and every problem is collected and raised once as a :class:`ConfigError`.

Untrusted input must not hurt the process: YAML is read as an event stream (never
constructed, so no tag can build a Python object), nesting is capped at
:data:`MAX_DEPTH` levels before any recursive code runs, and alias expansion is capped at
:data:`MAX_ALIAS_NODES` nodes (billion laughs).
"""

from __future__ import annotations

import enum
import io
import json
import math
import re
import sys
from collections.abc import Callable
from typing import Any, Literal, NamedTuple, NoReturn, TypeAlias

import yaml
from dotenv.parser import parse_stream
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from envconf.errors import ConfigError, Problem
from envconf.tree import Leaf, Scalar, Tree

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = [
    "MAX_ALIAS_NODES",
    "MAX_DEPTH",
    "MAX_INT_DIGITS",
    "EnvEntry",
    "parse_env_text",
    "parse_structured",
]

#: Deepest nesting of mappings and lists accepted in a config file (top level = 1).
MAX_DEPTH = 100
#: Most nodes that YAML aliases may expand to in one document.
MAX_ALIAS_NODES = 100_000
#: Longest integer literal accepted (CPython's default ``int`` conversion limit).
MAX_INT_DIGITS = 4300

_BOM = b"\xef\xbb\xbf"
_TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"


def parse_structured(data: bytes, label: str, fmt: Literal["yaml", "json", "toml"]) -> Tree:
    """Parse a YAML, JSON or TOML config file into a raw tree.

    Args:
        data: The file's bytes (UTF-8, an optional BOM is ignored).
        label: The file's path as shown to users; leaves are located at ``label:line``.
        fmt: The file format.

    Returns:
        Nested mappings as dicts; every other value as one :class:`Leaf` (a list is one
        leaf). An empty file gives ``{}``.

    Raises:
        ConfigError: The file cannot be decoded or parsed, or breaks a rule above; every
            problem found is listed.
    """
    text = _decode(data, label)
    if fmt == "yaml":
        return _parse_yaml(text, label)
    if fmt == "json":
        return _parse_json(text, label)
    if fmt == "toml":
        return _parse_toml(text, label)
    raise ValueError(f"unknown config format {fmt!r}")


def _decode(data: bytes, label: str) -> str:
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        problem = _problem(label, line, "is not valid UTF-8 text (config files must be UTF-8)")
        raise ConfigError([problem]) from None


def _problem(label: str, line: int, message: str, key: str = "") -> Problem:
    return Problem(key=key, message=message, source="file", location=f"{label}:{line}")


def _last_line(text: str) -> int:
    return max(1, text.count("\n") + (not text.endswith("\n")))


def _leaf(value: Any, label: str, line: int) -> Leaf:
    return Leaf(value, source="file", location=f"{label}:{line}", interpolate=True)


# --- YAML ---------------------------------------------------------------------------------

_LOADER: Any = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
_CORE = "tag:yaml.org,2002:"
_STR_TAG = _CORE + "str"
_NULL_TAG = _CORE + "null"
_MERGE_TAG = _CORE + "merge"
_SCALAR_TAGS = frozenset(_CORE + name for name in ("str", "int", "float", "bool", "null"))
_COLLECTION_TAGS = {MappingStartEvent: _CORE + "map", SequenceStartEvent: _CORE + "seq"}
_YAML_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_YAML_ODD_BREAKS = "\x85\u2028\u2029"  # NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR
_YAML_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")

# What one YAML node is composed into: scalars as written, lists, and mappings of
# key -> (line of the key, node). Aliased nodes are shared here and copied when the final
# tree is built, after their expanded size has been counted.
_Node: TypeAlias = "Scalar | list[_Node] | dict[str, tuple[int, _Node]]"
_Map: TypeAlias = "dict[str, tuple[int, _Node]]"


class _Key(enum.Enum):
    WANT = "want"  # the next node is a key
    BAD = "bad"  # the key was rejected: drop its value
    MERGE = "merge"  # the key is ``<<``: merge the value's mappings in


class _Frame:
    """A mapping or sequence whose end event has not been seen yet."""

    __slots__ = ("anchor", "height", "items", "key", "key_line", "line", "merges", "size")

    def __init__(self, items: _Map | list[_Node], anchor: str | None, line: int) -> None:
        self.items = items
        self.anchor = anchor
        self.line = line
        self.size = 1  # nodes in this subtree once aliases are expanded
        self.height = 1  # nesting levels in this subtree once aliases are expanded
        self.key: str | _Key = _Key.WANT
        self.key_line = line
        self.merges: list[_Map] | None = None


class _YamlBuilder:
    """Compose one YAML document from parser events, without recursion."""

    def __init__(self, label: str, line_map: list[int] | None) -> None:
        self.label = label
        self.line_map = line_map
        self.problems: list[Problem] = []
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[_Node, int, int]] = {}
        self.expanded = 0
        self.root: _Node | None = None
        self.root_line = 1

    def run(self, loader: Any) -> None:
        stack, anchors, add = self.stack, self.anchors, self.add
        documents = 0
        while True:
            event: Any = loader.get_event()
            kind = type(event)
            if kind is ScalarEvent:
                line = event.start_mark.line + 1
                tag = event.tag
                if tag is not None:
                    tag = self.scalar_tag(tag, event.value, line)
                node = Scalar(event.value, not event.style, tag)
                if event.anchor is not None:
                    anchors[event.anchor] = (node, 1, 0)
                add(node, 1, 0, line)
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                line = event.start_mark.line + 1
                if len(stack) >= MAX_DEPTH:
                    self.fatal(line, _TOO_DEEP)
                tag = event.tag
                if tag is not None and tag != "!" and tag != _COLLECTION_TAGS[kind]:
                    self.problem(line, _bad_tag(tag))
                items: _Map | list[_Node] = {} if kind is MappingStartEvent else []
                stack.append(_Frame(items, event.anchor, line))
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                frame = stack.pop()
                done = _finish(frame)
                if frame.anchor is not None:
                    anchors[frame.anchor] = (done, frame.size, frame.height)
                add(done, frame.size, frame.height, frame.line)
            elif kind is AliasEvent:
                self.alias(event)
            elif kind is DocumentStartEvent:
                documents += 1
                if documents > 1:
                    message = "holds more than one YAML document ('---'); use one per file"
                    self.fatal(event.start_mark.line + 1, message)
            elif event is None or kind is StreamEndEvent:
                return

    def add(self, node: _Node, size: int, height: int, line: int) -> None:
        """Attach a finished node to the collection being composed."""
        if not self.stack:
            self.root, self.root_line = node, line
            return
        frame = self.stack[-1]
        frame.size += size
        if height >= frame.height:
            frame.height = height + 1
        items = frame.items
        if isinstance(items, list):
            items.append(node)
            return
        key = frame.key
        if key is not _Key.WANT:
            frame.key = _Key.WANT
            if isinstance(key, str):
                items[key] = (frame.key_line, node)
            elif key is _Key.MERGE:
                self.merge(frame, node)
            return
        frame.key_line = line
        if not isinstance(node, Scalar):
            frame.key = _Key.BAD
            self.problem(line, "a mapping key must be plain text, not a mapping or list")
        elif node.text == "<<" and node.plain and node.tag in (None, _MERGE_TAG):
            frame.key = _Key.MERGE
            if frame.merges is not None:
                frame.key = _Key.BAD
                self.problem(line, "duplicate merge key '<<' in one mapping")
        else:
            frame.key = node.text
            if node.text in items:
                first = items[node.text][0]
                self.problem(line, f"duplicate key, first defined on line {first}")
                frame.key = _Key.BAD

    def merge(self, frame: _Frame, node: _Node) -> None:
        """Record the mappings of a ``<<`` value; the first one listed wins on conflict."""
        sources = node if isinstance(node, list) else [node]
        maps = [source for source in sources if isinstance(source, dict)]
        if len(maps) != len(sources) or not sources:
            self.problem(frame.key_line, "merge key '<<' needs a mapping or a list of mappings")
        frame.merges = maps

    def alias(self, event: Any) -> None:
        line = event.start_mark.line + 1
        name = event.anchor
        if any(frame.anchor == name for frame in self.stack):
            self.problem(line, f"alias *{name} refers to a node that contains it")
            entry: tuple[_Node, int, int] | None = None
        else:
            entry = self.anchors.get(name) if name is not None else None
            if entry is None:
                self.problem(line, f"alias *{name} has no anchor &{name} before it")
        node, size, height = entry or (Scalar(""), 1, 0)
        self.expanded += size
        if self.expanded > MAX_ALIAS_NODES:
            self.fatal(line, f"aliases expand to more than {MAX_ALIAS_NODES} nodes (too large)")
        if len(self.stack) + height > MAX_DEPTH:
            self.fatal(line, f"{_TOO_DEEP} once aliases are expanded")
        self.add(node, size, height, line)

    def scalar_tag(self, tag: str, text: str, line: int) -> str | None:
        if tag in _SCALAR_TAGS:
            return tag
        if tag == "!":  # the non-specific tag: a quoted-like string
            return _STR_TAG
        if tag == _MERGE_TAG and text == "<<" and self.stack:
            frame = self.stack[-1]
            if isinstance(frame.items, dict) and frame.key is _Key.WANT:
                return tag
        self.problem(line, _bad_tag(tag))
        return None

    def here(self) -> str:
        """Return the dotted key of the node being composed, for messages."""
        path = ""
        for frame in self.stack:
            if isinstance(frame.items, list):
                path += f"[{len(frame.items)}]"
            elif frame.key is _Key.WANT or frame.key is _Key.BAD:
                break
            else:
                key = "<<" if frame.key is _Key.MERGE else str(frame.key)
                path += f".{key}" if path else key
        return path

    def problem(self, line: int, message: str) -> None:
        line = _editor_line(self.line_map, line)
        key = self.here()
        if message.startswith(_TOO_DEEP):
            key = _shallow(key)
        self.problems.append(_problem(self.label, line, message, key))

    def fatal(self, line: int, message: str) -> NoReturn:
        self.problem(line, message)
        raise ConfigError(self.problems)


def _shallow(key: str) -> str:
    """The first levels of a too-deep key: enough to find it, short enough to read."""
    return ".".join(key.partition("[")[0].split(".")[:3])


def _finish(frame: _Frame) -> _Node:
    items = frame.items
    if isinstance(items, list) or not frame.merges:
        return items
    merged: _Map = {}
    for source in frame.merges:
        for key, entry in source.items():
            merged.setdefault(key, entry)
    merged.update(items)  # keys written in the mapping itself win over merged ones
    return merged


def _bad_tag(tag: str) -> str:
    shown = "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag
    return (
        f"YAML tag {shown} is not allowed (only !!str, !!int, !!float, !!bool, !!null, "
        "!!map and !!seq)"
    )


def _parse_yaml(text: str, label: str) -> Tree:
    line_map = _yaml_line_map(text)
    builder = _YamlBuilder(label, line_map)
    try:
        loader = _LOADER(text)
        try:
            builder.run(loader)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        last = _last_line(text)

        def line_of(mark: Any) -> int:  # shown at most on the last line, not past it
            line = mark.line + 1 if mark is not None else 1
            return min(_editor_line(line_map, line), last)

        line = line_of(exc.problem_mark or exc.context_mark)
        message = ", ".join(part for part in (exc.context, exc.problem) if part)
        if exc.context_mark is not None and line_of(exc.context_mark) != line:
            message += f" (started on line {line_of(exc.context_mark)})"
        # The key being read when the syntax broke; list positions past it are guesses.
        key = builder.here().partition("[")[0]
        builder.problems.append(_problem(label, line, f"invalid YAML: {message}", key))
        raise ConfigError(builder.problems) from None
    except yaml.reader.ReaderError as exc:
        position = text.find(chr(exc.character)) if isinstance(exc.character, int) else -1
        line = text.count("\n", 0, position) + 1 if position >= 0 else 1
        builder.problems.append(_problem(label, line, f"invalid YAML: {exc.reason}"))
        raise ConfigError(builder.problems) from None
    except yaml.YAMLError as exc:  # pragma: no cover - every PyYAML error above is marked
        builder.problems.append(_problem(label, 1, f"invalid YAML: {exc}"))
        raise ConfigError(builder.problems) from None

    root = builder.root
    empty = root is None or (
        isinstance(root, Scalar)
        and root.plain
        and root.text in _YAML_NULLS
        and root.tag in (None, _NULL_TAG)
    )
    if not empty and not isinstance(root, dict):
        message = "the top level must be a mapping of keys to values"
        builder.problem(builder.root_line, message)
    if builder.problems:
        raise ConfigError(builder.problems)
    return _yaml_tree(root, label, line_map) if isinstance(root, dict) else {}


def _yaml_line_map(text: str) -> list[int] | None:
    """Map YAML's line numbers to lines as editors count them.

    YAML also breaks lines at NEL, U+2028 and U+2029, which editors show inside a line;
    return ``None`` (no mapping needed) when the text has none of those.
    """
    if not any(char in text for char in _YAML_ODD_BREAKS):
        return None
    lines, line = [1, 1], 1  # index: YAML's 1-based line
    for match in _YAML_BREAK.finditer(text):
        line += match.group() not in _YAML_ODD_BREAKS
        lines.append(line)
    return lines


def _editor_line(line_map: list[int] | None, line: int) -> int:
    return line_map[min(line, len(line_map) - 1)] if line_map else line


def _yaml_tree(mapping: _Map, label: str, line_map: list[int] | None) -> Tree:
    tree: Tree = {}
    for key, (line, node) in mapping.items():
        if isinstance(node, dict):
            tree[key] = _yaml_tree(node, label, line_map)
        else:
            value = node if isinstance(node, Scalar) else _yaml_value(node)
            tree[key] = _leaf(value, label, _editor_line(line_map, line))
    return tree


def _yaml_value(node: _Node) -> Any:
    if isinstance(node, Scalar):
        return node
    if isinstance(node, list):
        return [_yaml_value(item) for item in node]
    return {key: _yaml_value(item) for key, (_, item) in node.items()}


# --- JSON ---------------------------------------------------------------------------------

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


def _parse_json(text: str, label: str) -> Tree:
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
        problems.append(_problem(label, exc.lineno, f"invalid JSON: {exc.msg}"))
    except (ValueError, RecursionError) as exc:  # pragma: no cover - the scan catches these
        problems.append(_problem(label, 1, f"invalid JSON: {type(exc).__name__}"))
    if problems:
        raise ConfigError(problems)
    if not isinstance(value, dict):
        line = text.count("\n", 0, len(text) - len(text.lstrip())) + 1
        raise ConfigError([_problem(label, line, "the top level must be an object")])
    return _native_tree(value, label, lines, problems)


def _json_int(text: str) -> int:
    return int(text) if len(text) <= MAX_INT_DIGITS else 0


def _json_constant(name: str) -> NoReturn:
    raise ValueError(name)


def _json_key_lines(text: str, label: str, problems: list[Problem]) -> dict[tuple[str, ...], int]:
    """Map the path of every key outside arrays to its line; report what json lets by.

    ``json`` gives no line numbers, accepts ``NaN``/``Infinity``, keeps the last of
    duplicate keys and recurses without limit, so one pass over the tokens finds those.
    """
    limit = _int_digit_limit()
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
                problems.append(_problem(label, line_at(start), message, frame.child_name()))
            else:
                frame.keys[key] = line_at(start)
                if frame.path is not None:
                    key_path = (*frame.path, key)
                    lines[key_path] = line
        elif first in "{[":
            if len(stack) >= MAX_DEPTH:
                top = stack[0] if stack else None  # name the top-level key holding it
                key = top.child_name() if top is not None and top.keys is not None else ""
                problems.append(_problem(label, line_at(start), _TOO_DEEP, key))
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
            problems.append(_problem(label, line_at(start), message, where))
    return lines


def _int_digit_limit() -> int:
    limit: int = getattr(sys, "get_int_max_str_digits", lambda: 0)()
    return min(limit, MAX_INT_DIGITS) if limit > 0 else MAX_INT_DIGITS


# --- TOML ---------------------------------------------------------------------------------

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


def _parse_toml(text: str, label: str) -> Tree:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, message = _toml_error(exc, text)
        raise ConfigError([_problem(label, line, f"invalid TOML: {message}")]) from None
    except RecursionError:
        lines, deep = _toml_key_lines(text)
        line = deep or 1
        key = max((p for p, n in lines.items() if n == line), key=len, default=())
        raise ConfigError([_problem(label, line, _TOO_DEEP, ".".join(key))]) from None
    except ValueError:  # tomllib's int() of a literal beyond the interpreter's digit limit
        raise ConfigError([_toml_long_int(text, label)]) from None
    problems: list[Problem] = []
    tree = _native_tree(data, label, _toml_key_lines(text)[0], problems)
    if problems:
        raise ConfigError(problems)
    return tree


def _toml_long_int(text: str, label: str) -> Problem:
    """Locate the integer literal too long for ``int()`` and the key it belongs to."""
    limit = _int_digit_limit()
    match = re.search(r"[0-9](?:_?[0-9]){" + str(limit) + ",}", text)
    line = text.count("\n", 0, match.start()) + 1 if match else _last_line(text)
    lines = _toml_key_lines(text)[0]
    key = max((p for p, n in lines.items() if n == line), key=len, default=())
    return _problem(label, line, f"integer has more than {limit} digits", ".".join(key))


def _toml_error(exc: tomllib.TOMLDecodeError, text: str) -> tuple[int, str]:
    lineno = getattr(exc, "lineno", None)  # Python 3.14+
    message = getattr(exc, "msg", None)
    match = _TOML_ERROR_AT.match(str(exc))
    if message is None:
        message = match.group(1) if match else str(exc)
    if lineno is None:
        lineno = int(match.group(2)) if match and match.group(2) else _last_line(text)
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


# --- JSON and TOML values -----------------------------------------------------------------


def _native_tree(
    mapping: dict[str, Any],
    label: str,
    lines: dict[tuple[str, ...], int],
    problems: list[Problem],
    path: tuple[str, ...] = (),
) -> Tree:
    tree: Tree = {}
    for key, value in mapping.items():
        here = (*path, key)
        if isinstance(value, dict):
            if len(here) >= MAX_DEPTH:
                line = _line_for(lines, here)
                problems.append(_problem(label, line, _TOO_DEEP, _shallow(".".join(here))))
                continue
            tree[key] = _native_tree(value, label, lines, problems, here)
            continue
        line = _line_for(lines, here)
        if isinstance(value, list) and _nests_deeper(value, MAX_DEPTH - len(here)):
            problems.append(_problem(label, line, _TOO_DEEP, _shallow(".".join(here))))
        tree[key] = _leaf(value, label, line)
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


# --- .env -----------------------------------------------------------------------------------


class EnvEntry(NamedTuple):
    """One ``NAME=value`` line of a ``.env`` file, value unexpanded.

    ``quote`` is how the value was written: ``""`` (bare), ``"'"`` or ``'"'``. Values in
    single quotes are never interpolated.
    """

    name: str
    value: str
    line: int
    quote: str


# The part of a binding before its value, as python-dotenv's parser reads it.
_ENV_HEAD = re.compile(r"\s*(?:export[^\S\r\n]+)?(?:'[^']+'|[^=#\s]+)[^\S\r\n]*=[^\S\r\n]*")
_ENV_NAME = re.compile(r"\s*(?:export[^\S\r\n]+)?([A-Za-z_][A-Za-z0-9_.]*)[^\S\r\n]*=")
_ENV_SPACE = re.compile(r"\s*")
_NEWLINE = re.compile(r"\r\n|\n|\r")


def parse_env_text(data: bytes, label: str) -> list[EnvEntry]:
    """Parse a ``.env`` file with python-dotenv's parser, without expanding ``${VAR}``.

    Args:
        data: The file's bytes (UTF-8, an optional BOM is ignored).
        label: The file's path as shown to users.

    Returns:
        Every assignment in file order, repeated names included.

    Raises:
        ConfigError: The file is not UTF-8, or lines cannot be parsed or lack ``=``;
            every such line is listed.
    """
    text = _decode(data, label)
    entries: list[EnvEntry] = []
    problems: list[Problem] = []
    for binding in parse_stream(io.StringIO(text)):
        raw, first_line = binding.original
        # A binding's text starts with the blank lines before it; its line is the key's.
        space = _ENV_SPACE.match(raw)
        line = first_line + len(_NEWLINE.findall(space.group() if space else ""))
        if binding.error:
            message = "cannot be parsed as NAME=value (an unclosed quote, or text after one?)"
            name = _ENV_NAME.match(raw)  # a well-formed name only, never the value
            problems.append(_problem(label, line, message, name.group(1) if name else ""))
        elif binding.key is None:
            continue  # a blank line or a comment
        elif binding.value is None:
            # Not named by its text: a stray line may be a secret pasted without its name.
            message = "has no '=' (write NAME=value, or NAME= for an empty value)"
            problems.append(_problem(label, line, message))
        else:
            head = _ENV_HEAD.match(raw)
            opener = raw[head.end() : head.end() + 1] if head else ""
            quote = opener if opener in ("'", '"') else ""
            entries.append(EnvEntry(binding.key, binding.value, line, quote))
    if problems:
        raise ConfigError(problems)
    return entries
