"""Schema positions typed as the loader types them: text widened, models inside values."""

from __future__ import annotations

from typing import Any, Optional

from pydantic import BaseModel, Field, TypeAdapter

from envconf.tools.schemavalues import deref, value_models, widen_text

TEXT = ["string", "number", "boolean"]


class Node(BaseModel):
    """A recursive model: its definition refers to itself."""

    name: str = "n"
    port_no: int = Field(default=1, alias="portNo")
    children: list[Node] = Field(default_factory=list)


def _schema(annotation: Any) -> dict[str, Any]:
    return TypeAdapter(annotation).json_schema(mode="validation")


def test_text_is_widened_in_items_tuple_positions_and_mapping_values() -> None:
    for annotation, path in [
        (list[str], ("items",)),
        (Optional[set[str]], ("anyOf", 0, "items")),  # noqa: UP045  (the typing spelling too)
        (tuple[str, int], ("prefixItems", 0)),
        (dict[str, str], ("additionalProperties",)),
    ]:
        node = _schema(annotation)
        widen_text(node, annotation)
        target: Any = node
        for part in path:
            target = target[part]
        assert target["type"] == TEXT, annotation
    fixed = _schema(tuple[str, int])
    widen_text(fixed, tuple[str, int])
    assert fixed["prefixItems"][1]["type"] == "integer"


def test_a_model_in_a_list_is_closed_once_even_when_it_refers_to_itself() -> None:
    node = _schema(list[Node])
    defs = node["$defs"]
    value_models(node, list[Node], defs, forbid=True, done=set())
    target = deref(node["items"], defs)
    assert target["additionalProperties"] is False
    assert list(target["properties"]) == ["name", "portNo", "children", "port_no"]
    assert target["properties"]["name"]["type"] == TEXT
    assert target["properties"]["port_no"] == target["properties"]["portNo"]


def test_without_forbid_keys_are_added_but_unknown_ones_stay_allowed() -> None:
    node = _schema(dict[str, Node])
    defs = node["$defs"]
    value_models(node, dict[str, Node], defs, forbid=False, done=set())
    target = deref(node["additionalProperties"], defs)
    assert "additionalProperties" not in target
    assert "port_no" in target["properties"]
