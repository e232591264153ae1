"""envconf: typed configuration for containerized apps.

The public names are loaded lazily so that ``envconf render`` (which imports this package
first) never pays for pydantic unless typed settings are asked for.
"""

from __future__ import annotations

import sys

from envconf.errors import ConfigError, Problem, SecretOnCommandLineWarning, UnknownVariableWarning
from envconf.origin import Origin
from envconf.records import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

    from envconf.datadir import DataDir
    from envconf.load.report import explain
    from envconf.load.sources.argv import ArgvSource
    from envconf.load.sources.files import ConfigFileSource
    from envconf.settings import Settings, SettingsConfigDict

__all__ = [
    "ArgvSource",
    "ConfigError",
    "ConfigFileSource",
    "DataDir",
    "Origin",
    "Problem",
    "SecretOnCommandLineWarning",
    "Settings",
    "SettingsConfigDict",
    "UnknownVariableWarning",
    "explain",
]

_LAZY = {
    "ArgvSource": "envconf.load.sources.argv",
    "ConfigFileSource": "envconf.load.sources.files",
    "DataDir": "envconf.datadir",
    "Settings": "envconf.settings",
    "SettingsConfigDict": "envconf.settings",
    "explain": "envconf.load.report",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'envconf' has no attribute {name!r}")
    __import__(module)
    value = getattr(sys.modules[module], name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
