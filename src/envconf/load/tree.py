"""Raw configuration trees: what sources find, each value with its origin.

A tree is a nested ``dict`` whose inner nodes are mappings and whose leaves are
:class:`Leaf` objects: a raw value and the :class:`~envconf.origin.Origin` it came from.
Sources build trees, :mod:`envconf.load.merge` folds them, and every later step (fitting
to the model, validation errors, ``explain``) reads origins from the leaves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Union

from envconf.origin import Origin
from envconf.records import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from envconf.records import NamedTuple


class Scalar(NamedTuple):
    """A YAML scalar kept exactly as written, so the target field's type decides its meaning.

    ``plain`` is false for quoted and block scalars, which are always strings.
    ``tag`` is an explicit tag such as ``tag:yaml.org,2002:str`` or ``None``.
    """

    text: str
    plain: bool = True
    tag: str | None = None


class Leaf(NamedTuple):
    """One raw value and where it came from.

    ``value`` is a ``str``, a number, a bool, ``None``, a :class:`Scalar`, or a list of
    those (a mapping is a tree node, never a leaf value). ``secret`` marks a value read
    from a secret file (``VAR_FILE``, the secrets dir): it is hidden whatever the field's
    type. ``interpolate`` says whether ``${VAR}`` references in it are still to expand.
    """

    value: Any
    origin: Origin
    secret: bool = False
    interpolate: bool = False
    #: The variables a ``${VAR}`` in a config file took this value from.
    via: tuple[str, ...] = ()

    @property
    def source(self) -> str:
        """The layer the value came from (``env``, ``file``, ...)."""
        return self.origin.source

    @property
    def location(self) -> str:
        """Where in the layer (``config/app.yaml:3``, ``APP_DB__PORT``, ...)."""
        return self.origin.location


Tree = dict[str, Union["Tree", Leaf]]
Path = tuple[str, ...]


class Branch(dict[str, Any]):
    """A mapping read from a file, located where its key is written.

    An unknown ``logging:`` section is reported on its own line, not on its first child's.
    Any step that builds a new ``dict`` drops the location; users of it fall back to the
    first leaf inside (:func:`origin_of_node`).
    """

    __slots__ = ("origin",)

    def __init__(self, origin: Origin) -> None:
        super().__init__()
        self.origin = origin


def origin_of_node(node: Tree | Leaf) -> Origin | None:
    """Where ``node`` is written: its own origin, else its first leaf's; ``None`` if empty."""
    if isinstance(node, (Leaf, Branch)):
        return node.origin
    return next((leaf.origin for _, leaf in iter_leaves(node)), None)


def set_leaf(tree: Tree, path: Path, leaf: Leaf) -> None:
    """Place ``leaf`` at ``path``, creating (or replacing with) mappings on the way."""
    node = tree
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[path[-1]] = leaf


def node_at(tree: Tree, path: Path) -> Tree | Leaf | None:
    """The node at ``path``, or the leaf above it that holds its value; ``None`` if unset."""
    node: Tree | Leaf = tree
    for part in path:
        if isinstance(node, Leaf):
            return node
        child = node.get(part)
        if child is None:
            return None
        node = child
    return node


def iter_leaves(tree: Tree, path: Path = ()) -> Iterator[tuple[Path, Leaf]]:
    """Every leaf of ``tree`` with its path, depth first in key order."""
    for key, node in tree.items():
        here = (*path, key)
        if isinstance(node, dict):
            yield from iter_leaves(node, here)
        else:
            yield here, node


def from_values(
    values: Mapping[str, Any],
    origin_of: Callable[[Path], Origin],
    secret_of: Callable[[Path], bool] | None = None,
) -> Tree:
    """A tree of the plain ``values`` a source returned, each leaf with ``origin_of(path)``.

    ``secret_of(path)`` says whether a value came from a secret file.
    """

    def build(mapping: Mapping[str, Any], path: Path) -> Tree:
        tree: Tree = {}
        for key, value in mapping.items():
            here = (*path, str(key))
            if isinstance(value, Mapping):
                tree[str(key)] = build(value, here)
            else:
                secret = secret_of(here) if secret_of is not None else False
                tree[str(key)] = Leaf(value, origin_of(here), secret)
        return tree

    return build(values, ())


def plain(tree: Tree) -> dict[str, Any]:
    """The values of ``tree`` without origins (what pydantic validates)."""
    return {k: plain(v) if isinstance(v, dict) else v.value for k, v in tree.items()}
