"""Any pydantic-settings source as a layer: its origin is the source's name.

pydantic-settings' own sources that envconf does not replace (its CLI, JSON, YAML, TOML,
pyproject and nested-secrets sources) and a user's custom sources return plain values;
wrapped here, each value gets an origin naming the source (and the file, when the source
reads one), so ``explain`` accounts for every value from every layer.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic_settings import PydanticBaseSettingsSource, SettingsError

from envconf.errors import Problem
from envconf.load.source import Input, Layer, LoadContext
from envconf.load.tree import Path, from_values
from envconf.origin import Origin

#: pydantic-settings' built-in sources by class name, as envconf's layer names.
_KNOWN = {
    "InitSettingsSource": "init",
    "DefaultSettingsSource": "default",
    "CliSettingsSource": "cli",
    "EnvSettingsSource": "env",
    "DotEnvSettingsSource": "dotenv",
    "SecretsSettingsSource": "secret",
}
_FILE_ATTRIBUTES = ("json_file_path", "yaml_file_path", "toml_file_path", "toml_file")


def layer_name(source: Any) -> str:
    """The origin name of a source: its ``name``, a built-in's layer name, else its class name
    (a function given as a source: its own name)."""
    name = getattr(source, "name", None)
    if isinstance(name, str) and name:
        return name
    for cls in type(source).__mro__:
        if cls.__name__ in _KNOWN and cls.__module__.startswith("pydantic_settings"):
            return _KNOWN[cls.__name__]
    return state_name(source)


def state_name(source: Any) -> str:
    """The name pydantic-settings files a source's values under (``settings_sources_data``):
    a function's name, else the class name; for envconf's subclasses, pydantic-settings'."""
    function_name = getattr(source, "__name__", None)
    if isinstance(function_name, str):
        return function_name
    for cls in type(source).__mro__:
        if cls.__module__.startswith("pydantic_settings"):
            return (
                cls.__name__
                if cls.__name__ != "PydanticBaseSettingsSource"
                else type(source).__name__
            )
    return type(source).__name__


def _files(source: Any) -> tuple[str, ...]:
    for attribute in _FILE_ATTRIBUTES:
        value = getattr(source, attribute, None)
        if value is None:
            continue
        items = value if isinstance(value, (list, tuple)) else [value]
        return tuple(os.fspath(v) for v in items if isinstance(v, (str, os.PathLike)))
    return ()


class ForeignSource:
    """A plain pydantic-settings source as an envconf layer."""

    def __init__(self, source: PydanticBaseSettingsSource) -> None:
        self.source = source
        self.name = layer_name(source)

    def layer(self, ctx: LoadContext) -> Layer:
        files = _files(self.source)
        try:
            values = self.source()
        except (SettingsError, ValueError, OSError) as exc:
            where = ", ".join(files) or self.name
            return Layer(self.name, {}, [Problem("", str(exc), self.name, where)], _inputs(files))
        if self.name == "cli":
            return Layer(self.name, from_values(values, _flag), [])
        location = ", ".join(files) or self.name
        origin = Origin(self.name, location)
        return Layer(self.name, from_values(values, lambda path: origin), [], _inputs(files))


def _inputs(files: tuple[str, ...]) -> tuple[Input, ...]:
    return tuple(Input(path, "config file") for path in files)


def _flag(path: Path) -> Origin:
    return Origin("cli", "--" + ".".join(path))
