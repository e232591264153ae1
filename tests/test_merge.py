"""Folding layers by precedence, remembering what each value beat."""

from __future__ import annotations

from envconf.load.merge import Winner, iter_leaves, iter_winners, merge_layers
from envconf.load.tree import Leaf, Tree


def leaf(value: object, source: str) -> Leaf:
    return Leaf(value, source, f"{source}-loc")


def test_the_highest_layer_wins_and_beaten_is_highest_first() -> None:
    layers: list[Tree] = [
        {"port": leaf(1, "cli")},
        {"port": leaf(2, "env")},
        {"port": leaf(3, "file")},
    ]
    merged = merge_layers(layers)
    assert merged == {"port": Winner(leaf(1, "cli"), [leaf(2, "env"), leaf(3, "file")])}


def test_mappings_merge_key_by_key() -> None:
    merged = merge_layers(
        [
            {"db": {"port": leaf(1, "env")}},
            {"db": {"host": leaf("h", "file"), "port": leaf(2, "file")}},
        ]
    )
    assert merged == {
        "db": {
            "host": Winner(leaf("h", "file")),
            "port": Winner(leaf(1, "env"), [leaf(2, "file")]),
        }
    }


def test_lists_replace_rather_than_append() -> None:
    merged = merge_layers([{"tags": leaf(["c"], "env")}, {"tags": leaf(["a", "b"], "file")}])
    assert merged["tags"] == Winner(leaf(["c"], "env"), [leaf(["a", "b"], "file")])


def test_a_value_replacing_a_mapping_beats_every_leaf_in_it() -> None:
    merged = merge_layers(
        [{"db": leaf("{}", "env")}, {"db": {"host": leaf("h", "file"), "port": leaf(1, "file")}}]
    )
    assert merged == {"db": Winner(leaf("{}", "env"), [leaf("h", "file"), leaf(1, "file")])}


def test_a_mapping_replacing_a_value_records_what_it_beat() -> None:
    merged = merge_layers([{"db": {"port": leaf(1, "env")}}, {"db": leaf(5, "file")}])
    assert merged == {"db": {"port": Winner(leaf(1, "env"), [leaf(5, "file")])}}


def test_empty_layers_merge_to_nothing() -> None:
    assert merge_layers([]) == {}
    assert merge_layers([{}, {}]) == {}


def test_inputs_are_not_modified() -> None:
    low: Tree = {"db": {"port": leaf(2, "file")}}
    merge_layers([{"db": {"port": leaf(1, "env")}}, low])
    assert low == {"db": {"port": leaf(2, "file")}}


def test_iterators_walk_every_leaf_and_winner() -> None:
    tree: Tree = {"a": leaf(1, "env"), "b": {"c": leaf(2, "env")}}
    assert [x.value for x in iter_leaves(tree)] == [1, 2]
    assert [w.leaf.value for w in iter_winners(merge_layers([tree]))] == [1, 2]
