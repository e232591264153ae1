"""Fold layers by precedence into one tree; each winning leaf lists every origin it beat.

The rules are pydantic-settings' (``deep_update``): mappings merge key by key, anything
else (a scalar, a list) replaces what is below it wholesale. A value replacing a whole
mapping beats every leaf inside it; a mapping replacing a value beats it in every leaf.
The merged tree is the provenance: ``plain(tree)`` is what pydantic validates, and each
leaf's origin (``overridden`` highest first) is what ``explain`` shows.
"""

from __future__ import annotations

from collections.abc import Sequence

from envconf.load.tree import Branch, Leaf, Tree, iter_leaves
from envconf.origin import Origin

__all__ = ["beneath", "merge"]


def merge(trees: Sequence[Tree]) -> Tree:
    """Deep-merge ``trees`` (highest precedence first) into a new tree."""
    merged: Tree = {}
    for tree in trees:
        merged = beneath(merged, tree)
    return merged


def beneath(high: Tree, low: Tree) -> Tree:
    """Merge ``low`` under ``high``: ``high`` wins wherever both have a value."""
    out: Tree = _like(high, low)
    for key, node in high.items():
        below = low.get(key)
        if below is None:
            out[key] = node
        elif isinstance(node, dict) and isinstance(below, dict):
            out[key] = beneath(node, below)
        elif isinstance(node, dict):  # a mapping replaces a value
            out[key] = _beating(node, _flat(below))
        else:
            beaten = _flat(below)
            out[key] = _beat(node, beaten) if beaten else node
    return out


def _like(high: Tree, low: Tree) -> Tree:
    """A copy of ``low`` located where ``high`` (else ``low``) is written, if either is."""
    located = high if isinstance(high, Branch) else low
    if not isinstance(located, Branch):
        return dict(low)
    out = Branch(located.origin)
    out.update(low)
    return out


def _flat(node: Tree | Leaf) -> list[Origin]:
    """Every origin inside ``node``, each followed by what it had beaten already."""
    leaves = [node] if isinstance(node, Leaf) else [leaf for _, leaf in iter_leaves(node)]
    out: list[Origin] = []
    for leaf in leaves:
        out.append(leaf.origin._replace(overridden=()))
        out.extend(leaf.origin.overridden)
    return out


def _beat(leaf: Leaf, beaten: list[Origin]) -> Leaf:
    origin = leaf.origin
    seen = {(o.source, o.location) for o in origin.overridden}
    seen.add((origin.source, origin.location))
    more = []
    for other in beaten:
        if (other.source, other.location) not in seen:
            seen.add((other.source, other.location))
            more.append(other)
    return leaf._replace(origin=origin._replace(overridden=(*origin.overridden, *more)))


def _beating(tree: Tree, beaten: list[Origin]) -> Tree:
    return {
        key: _beating(node, beaten) if isinstance(node, dict) else _beat(node, beaten)
        for key, node in tree.items()
    }
