"""Parse YAML config text into a raw tree, each scalar exactly as written.

A YAML scalar stays a :class:`~envconf.tree.Scalar` holding its text as written (the
target field's type decides what ``012`` means); every leaf is located at the line of its
key. Untrusted input must not hurt the process: the text is read as an event stream and
composed here without recursion (never constructed, so no tag can build a Python object),
nesting is capped at :data:`~envconf.load.formats.common.MAX_DEPTH` levels and alias
expansion at :data:`~envconf.load.formats.common.MAX_ALIAS_NODES` nodes (billion laughs).
"""

from __future__ import annotations

import enum
import re
from typing import Any, NoReturn, TypeAlias

import yaml
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
from envconf.load.formats.common import (
    MAX_ALIAS_NODES,
    MAX_DEPTH,
    TOO_DEEP,
    file_leaf,
    file_problem,
    last_line,
    shallow_key,
)
from envconf.load.tree import Branch, Scalar, Tree
from envconf.origin import Origin

__all__ = ["parse_yaml"]

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
                    self.fatal(line, TOO_DEEP)
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
            self.fatal(line, f"{TOO_DEEP} once aliases are expanded")
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
        if message.startswith(TOO_DEEP):
            key = shallow_key(key)
        self.problems.append(file_problem(self.label, line, message, key))

    def fatal(self, line: int, message: str) -> NoReturn:
        self.problem(line, message)
        raise ConfigError(self.problems)


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


def parse_yaml(text: str, label: str) -> Tree:
    """Parse decoded YAML text into a raw tree (``{}`` for an empty document).

    Raises:
        ConfigError: The text is not one valid YAML document with a mapping at the top,
            or breaks a rule above; every problem found is listed.
    """
    line_map = _yaml_line_map(text)
    builder = _YamlBuilder(label, line_map)
    try:
        loader = _LOADER(text)
        try:
            builder.run(loader)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        last = last_line(text)

        def line_of(mark: Any) -> int:  # shown at most on the last line, not past it
            line = mark.line + 1 if mark is not None else 1
            return min(_editor_line(line_map, line), last)

        line = line_of(exc.problem_mark or exc.context_mark)
        message = ", ".join(part for part in (exc.context, exc.problem) if part)
        if exc.context_mark is not None and line_of(exc.context_mark) != line:
            message += f" (started on line {line_of(exc.context_mark)})"
        # The key being read when the syntax broke; list positions past it are guesses.
        key = builder.here().partition("[")[0]
        builder.problems.append(file_problem(label, line, f"invalid YAML: {message}", key))
        raise ConfigError(builder.problems) from None
    except yaml.reader.ReaderError as exc:
        position = text.find(chr(exc.character)) if isinstance(exc.character, int) else -1
        line = text.count("\n", 0, position) + 1 if position >= 0 else 1
        builder.problems.append(file_problem(label, line, f"invalid YAML: {exc.reason}"))
        raise ConfigError(builder.problems) from None
    except yaml.YAMLError as exc:  # pragma: no cover - every PyYAML error above is marked
        builder.problems.append(file_problem(label, 1, f"invalid YAML: {exc}"))
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
    return _yaml_tree(root, label, line_map, {}) if isinstance(root, dict) else {}


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


def _yaml_tree(mapping: _Map, label: str, line_map: list[int] | None, tree: Tree) -> Tree:
    for key, (line, node) in mapping.items():
        if isinstance(node, dict):
            origin = Origin("file", f"{label}:{_editor_line(line_map, line)}")
            tree[key] = _yaml_tree(node, label, line_map, Branch(origin))
        else:
            value = node if isinstance(node, Scalar) else _yaml_value(node)
            tree[key] = file_leaf(value, label, _editor_line(line_map, line))
    return tree


def _yaml_value(node: _Node) -> Any:
    if isinstance(node, Scalar):
        return node
    if isinstance(node, list):
        return [_yaml_value(item) for item in node]
    return {key: _yaml_value(item) for key, (_, item) in node.items()}
