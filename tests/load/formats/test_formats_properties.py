"""Property tests for envconf.load.formats: what a writer dumps, the parser finds again."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from envconf.load.formats import EnvEntry, parse_env_text, parse_structured
from envconf.load.tree import Leaf, Scalar, Tree

keys = st.text(max_size=12)
scalars = st.one_of(st.text(max_size=20), st.integers(min_value=-(10**30), max_value=10**30))
documents = st.recursive(
    st.dictionaries(keys, scalars, max_size=5),
    lambda children: st.dictionaries(keys, st.one_of(scalars, children), max_size=5),
    max_leaves=25,
)


def leaves(tree: Tree, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Leaf]]:
    found: list[tuple[tuple[str, ...], Leaf]] = []
    for key, node in tree.items():
        if isinstance(node, Leaf):
            found.append(((*path, key), node))
        else:
            found.extend(leaves(node, (*path, key)))
    return found


def lookup(document: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = document
    for key in path:
        value = value[key]
    return value


def line_of(leaf: Leaf, label: str, text: str) -> int:
    name, _, line = leaf.location.rpartition(":")
    assert name == label
    assert 1 <= int(line) <= text.count("\n") + 1
    return int(line)


@settings(max_examples=100, deadline=None)
@given(documents, st.sampled_from([None, 2]))
def test_json_values_round_trip_with_key_lines(
    document: dict[str, Any], indent: int | None
) -> None:
    text = json.dumps(document, indent=indent)
    tree = parse_structured(text.encode(), "c.json", "json")
    found = leaves(tree)
    for path, leaf in found:
        assert leaf.value == lookup(document, path)
        line = line_of(leaf, "c.json", text)
        if indent:  # one key per line: the line names the key
            assert text.splitlines()[line - 1].lstrip().startswith(json.dumps(path[-1]) + ":")
    assert len(found) == sum(1 for _ in _scalar_paths(document))


@settings(max_examples=100, deadline=None)
@given(documents)
def test_yaml_scalar_text_round_trips_with_key_lines(document: dict[str, Any]) -> None:
    text = yaml.safe_dump(document, default_flow_style=False, width=1000)
    tree = parse_structured(text.encode(), "c.yaml", "yaml")
    key_lines = composed_key_lines(yaml.compose(text, Loader=yaml.SafeLoader))
    found = leaves(tree)
    for path, leaf in found:
        original = lookup(document, path)
        scalar = leaf.value
        assert isinstance(scalar, Scalar)
        assert scalar.tag is None
        if isinstance(original, str):
            assert scalar.text == original
        else:
            assert scalar.plain
            assert int(scalar.text) == original
        assert line_of(leaf, "c.yaml", text) == key_lines[path]
    assert len(found) == sum(1 for _ in _scalar_paths(document))


def composed_key_lines(node: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], int]:
    """Return PyYAML's own line of every key, as an independent oracle."""
    lines: dict[tuple[str, ...], int] = {}
    for key, value in node.value if isinstance(node, yaml.MappingNode) else []:
        here = (*path, key.value)
        lines[here] = key.start_mark.line + 1
        lines.update(composed_key_lines(value, here))
    return lines


def _scalar_paths(document: dict[str, Any], path: tuple[str, ...] = ()) -> Any:
    for key, value in document.items():
        if isinstance(value, dict):
            yield from _scalar_paths(value, (*path, key))
        else:
            yield (*path, key)


# --- .env -----------------------------------------------------------------------------------

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True)
env_values = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
_BARE = re.compile(r"[^\s'\"#](?:[^\r\n]*[^\s])?")


def write_env(
    entries: list[tuple[str, str, str, bool]], padding: list[str]
) -> tuple[str, list[EnvEntry]]:
    """Write NAME=value lines the way a careful tool would; return text and what it means."""
    text = ""
    expected: list[EnvEntry] = []
    for (name, value, style, export), pad in zip(entries, padding, strict=True):
        text += pad
        if style == "" and not (
            value == "" or (_BARE.fullmatch(value) and not re.search(r"\s#", value))
        ):
            style = '"'
        if style == "'" and ("'" in value or "\\" in value):
            style = '"'
        if style == '"':
            escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "\\r")
            written = f'"{escaped}"'
        else:
            written = f"{style}{value}{style}"
        line = len(re.findall(r"\r\n|\n|\r", text)) + 1
        text += f"{'export ' if export else ''}{name}={written}\n"
        expected.append(EnvEntry(name, value, line, style))
    return text, expected


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(names, env_values, st.sampled_from(["", "'", '"']), st.booleans()),
        max_size=8,
    ).flatmap(
        lambda entries: st.tuples(
            st.just(entries),
            st.lists(
                st.sampled_from(["", "\n", "# comment\n", "  \n", "\n# x = y\n\n"]),
                min_size=len(entries),
                max_size=len(entries),
            ),
        )
    )
)
def test_env_lines_round_trip_through_a_writer(
    case: tuple[list[tuple[str, str, str, bool]], list[str]],
) -> None:
    text, expected = write_env(*case)
    assert parse_env_text(text.encode(), ".env") == expected
