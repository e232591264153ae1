"""The load pipeline: sources -> layers with origins -> merge -> validation (see settings).

What a custom source needs is importable from here: subclass :class:`EnvconfSource`,
give it a ``name`` and a ``layer(ctx)`` that returns a :class:`Layer`, and return it from
``settings_customise_sources``. docs/architecture.md walks through one.
"""

from __future__ import annotations

from envconf.load.source import FileReport, Input, Layer, LoadContext, Source
from envconf.load.sources.base import EnvconfSource
from envconf.load.tree import Leaf, Tree, from_values

__all__ = [
    "EnvconfSource",
    "FileReport",
    "Input",
    "Layer",
    "Leaf",
    "LoadContext",
    "Source",
    "Tree",
    "from_values",
]
