"""Folding layers by precedence, remembering in each winner every origin it beat."""

from __future__ import annotations

from envconf.load.merge import beneath, merge
from envconf.load.tree import Leaf, Tree, plain
from envconf.origin import Origin


def at(source: str) -> Origin:
    return Origin(source, f"{source}-loc")


def leaf(value: object, source: str, *beaten: str) -> Leaf:
    return Leaf(value, at(source)._replace(overridden=tuple(at(b) for b in beaten)))


def test_the_highest_layer_wins_and_overridden_is_highest_first() -> None:
    layers: list[Tree] = [
        {"port": leaf(1, "cli")},
        {"port": leaf(2, "env")},
        {"port": leaf(3, "file")},
    ]
    assert merge(layers) == {"port": leaf(1, "cli", "env", "file")}


def test_mappings_merge_key_by_key() -> None:
    merged = merge(
        [
            {"db": {"port": leaf(1, "env")}},
            {"db": {"host": leaf("h", "file"), "port": leaf(2, "file")}},
        ]
    )
    assert merged == {"db": {"host": leaf("h", "file"), "port": leaf(1, "env", "file")}}
    assert plain(merged) == {"db": {"host": "h", "port": 1}}


def test_lists_replace_rather_than_append() -> None:
    merged = merge([{"tags": leaf(["c"], "env")}, {"tags": leaf(["a", "b"], "file")}])
    assert merged["tags"] == leaf(["c"], "env", "file")


def test_a_value_replacing_a_mapping_beats_every_leaf_in_it_once() -> None:
    low: Tree = {"db": {"host": leaf("h", "file"), "port": leaf(1, "file")}}
    assert merge([{"db": leaf(None, "env")}, low]) == {"db": leaf(None, "env", "file")}


def test_a_mapping_replacing_a_value_records_it_in_every_leaf() -> None:
    merged = merge(
        [{"db": {"port": leaf(1, "env"), "host": leaf("x", "cli")}}, {"db": leaf(5, "file")}]
    )
    assert merged == {"db": {"port": leaf(1, "env", "file"), "host": leaf("x", "cli", "file")}}


def test_what_a_winner_beat_before_keeps_its_place_ahead_of_lower_layers() -> None:
    # A file layer merged two files already: the later file beat the earlier one.
    files = {"port": leaf(2, "file-b", "file-a")}
    assert merge([{"port": leaf(1, "env")}, files]) == {"port": leaf(1, "env", "file-b", "file-a")}
    assert merge([{}, files]) == files


def test_empty_layers_merge_to_nothing_and_inputs_are_not_modified() -> None:
    assert merge([]) == {}
    assert merge([{}, {}]) == {}
    low: Tree = {"db": {"port": leaf(2, "file")}}
    beneath({"db": {"port": leaf(1, "env")}}, low)
    assert low == {"db": {"port": leaf(2, "file")}}
