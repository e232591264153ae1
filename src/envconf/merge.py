"""Fold layers by precedence into one tree, remembering which origins each value beat."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Union

from envconf.tree import Leaf, Tree


@dataclass
class Winner:
    """The effective raw value at one path and every leaf it overrode (highest first)."""

    leaf: Leaf
    beaten: list[Leaf] = field(default_factory=list)
    #: Position of the winning layer, higher for higher precedence (later files too).
    order: int = field(default=0, compare=False)


Merged = dict[str, Union["Merged", Winner]]


def iter_leaves(node: Tree | Leaf) -> Iterator[Leaf]:
    """Every leaf in a raw tree (or the leaf itself)."""
    if isinstance(node, Leaf):
        yield node
        return
    for child in node.values():
        yield from iter_leaves(child)


def iter_winners(node: Merged | Winner) -> Iterator[Winner]:
    """Every winner in a merged tree (or the winner itself)."""
    if isinstance(node, Winner):
        yield node
        return
    for child in node.values():
        yield from iter_winners(child)


def merge_layers(layers: Sequence[Tree]) -> Merged:
    """Deep-merge ``layers`` (highest precedence first).

    Mappings merge key by key; anything else (a scalar, a list) replaces what is below
    it wholesale, and a value replacing a whole mapping beats every leaf inside it.
    """
    merged: Merged = {}
    for order, layer in enumerate(reversed(layers)):
        _fold(merged, layer, order)
    return merged


def _fold(into: Merged, layer: Tree, order: int) -> None:
    for key, node in layer.items():
        current = into.get(key)
        if isinstance(node, dict):
            if isinstance(current, dict):
                _fold(current, node, order)
                continue
            sub: Merged = {}
            _fold(sub, node, order)
            if isinstance(current, Winner):
                for winner in iter_winners(sub):
                    winner.beaten.extend([current.leaf, *current.beaten])
                    break
            into[key] = sub
            continue
        beaten: list[Leaf] = []
        if isinstance(current, Winner):
            beaten = [current.leaf, *current.beaten]
        elif isinstance(current, dict):
            beaten = [w.leaf for w in iter_winners(current)]
        into[key] = Winner(node, beaten, order)
