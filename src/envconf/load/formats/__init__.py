"""Parse config file bytes (YAML, JSON, TOML, ``.env``) into raw trees with line numbers.

Parsers only *find* values. A YAML scalar stays a :class:`~envconf.tree.Scalar` holding
its text exactly as written (the target field's type decides what ``012`` means); JSON and
TOML values stay the parser's native values. Every leaf is located at the line of its
key, and every problem is collected and raised once as a :class:`ConfigError`.

Untrusted input must not hurt the process: YAML is read as an event stream (never
constructed, so no tag can build a Python object), nesting is capped at
:data:`MAX_DEPTH` levels before any recursive code runs, and alias expansion is capped at
:data:`MAX_ALIAS_NODES` nodes (billion laughs).

This module is the entry point; each format lives in its own module (``yaml_format``,
``json_format``, ``toml_format``, ``env_format``), imported only when a file of that
format is parsed, so that a load pays only for the parsers it uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from envconf.load.formats.common import MAX_ALIAS_NODES, MAX_DEPTH, MAX_INT_DIGITS, decode

if TYPE_CHECKING:
    from envconf.load.formats.env_format import EnvEntry
    from envconf.load.tree import Tree

__all__ = [
    "MAX_ALIAS_NODES",
    "MAX_DEPTH",
    "MAX_INT_DIGITS",
    "EnvEntry",
    "parse_env_text",
    "parse_structured",
]


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
    text = decode(data, label)
    if fmt == "yaml":
        from envconf.load.formats.yaml_format import parse_yaml

        return parse_yaml(text, label)
    if fmt == "json":
        from envconf.load.formats.json_format import parse_json

        return parse_json(text, label)
    if fmt == "toml":
        from envconf.load.formats.toml_format import parse_toml

        return parse_toml(text, label)
    raise ValueError(f"unknown config format {fmt!r}")


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
    text = decode(data, label)
    from envconf.load.formats.env_format import parse_env

    return parse_env(text, label)


def __getattr__(name: str) -> Any:
    # EnvEntry is loaded on first use: its module imports python-dotenv, which is slow.
    if name == "EnvEntry":
        from envconf.load.formats.env_format import EnvEntry

        globals()[name] = EnvEntry
        return EnvEntry
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
