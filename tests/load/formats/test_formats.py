"""Tests for envconf.load.formats: config file bytes -> raw trees with line numbers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from envconf.errors import ConfigError
from envconf.load.formats import EnvEntry, parse_env_text, parse_structured
from envconf.load.formats import yaml_format as formats
from envconf.load.tree import Leaf, Scalar, Tree
from envconf.origin import Origin

STR = "tag:yaml.org,2002:str"
LOADERS = [yaml.SafeLoader] + ([yaml.CSafeLoader] if yaml.__with_libyaml__ else [])


@pytest.fixture(params=LOADERS, ids=lambda loader: loader.__name__)
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run a YAML test with libyaml and with the pure-Python parser."""
    monkeypatch.setattr(formats, "_LOADER", request.param)
    yield


def yaml_tree(text: str, label: str = "app.yaml") -> Tree:
    return parse_structured(text.encode(), label, "yaml")


def problems(text: str | bytes, fmt: str = "yaml", label: str = "app.yaml") -> list[str]:
    """Return each problem as 'key | location | message'."""
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(ConfigError) as info:
        parse_structured(data, label, fmt)  # type: ignore[arg-type]
    assert all(p.source == "file" for p in info.value.problems)
    return [f"{p.key} | {p.location} | {p.message}" for p in info.value.problems]


def locations(tree: Tree, prefix: str = "") -> dict[str, str]:
    """Flatten a tree to dotted key -> location."""
    out: dict[str, str] = {}
    for key, node in tree.items():
        if isinstance(node, Leaf):
            out[prefix + key] = node.location
        else:
            out.update(locations(node, f"{prefix}{key}."))
    return out


def leaf(tree: Tree, dotted: str) -> Leaf:
    node: Any = tree
    for part in dotted.split("."):
        node = node[part]
    assert isinstance(node, Leaf)
    return node


# --- common behaviour -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "text"),
    [("yaml", 'a: "x"\n'), ("json", '{"a": "x"}'), ("toml", 'a = "x"\n')],
)
def test_every_leaf_is_from_file_and_interpolated(fmt: str, text: str) -> None:
    tree = parse_structured(text.encode(), "cfg", fmt)  # type: ignore[arg-type]
    assert tree["a"] == Leaf(
        Scalar("x", plain=False) if fmt == "yaml" else "x",
        Origin("file", "cfg:1"),
        interpolate=True,
    )


@pytest.mark.parametrize("fmt", ["yaml", "json", "toml"])
@pytest.mark.parametrize("data", [b"", b"\n  \n", b"\xef\xbb\xbf"])
def test_empty_file_is_an_empty_tree(fmt: str, data: bytes) -> None:
    assert parse_structured(data, "cfg", fmt) == {}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fmt", "text"),
    [("yaml", "a: 1\nb: 2\n"), ("json", '{"a": 1,\n"b": 2}'), ("toml", "a = 1\nb = 2\n")],
)
def test_leading_utf8_bom_is_ignored(fmt: str, text: str) -> None:
    tree = parse_structured(b"\xef\xbb\xbf" + text.encode(), "cfg", fmt)  # type: ignore[arg-type]
    assert locations(tree) == {"a": "cfg:1", "b": "cfg:2"}


@pytest.mark.parametrize(
    ("fmt", "data"),
    [
        ("yaml", b"a: 1\nb: caf\xe9\n"),
        ("json", b'{"a": 1,\n"b": "caf\xe9"}'),
        ("toml", b'a = 1\nb = "caf\xe9"\n'),
    ],
)
def test_invalid_utf8_names_line_of_bad_byte(fmt: str, data: bytes) -> None:
    [problem] = problems(data, fmt, "cfg")
    assert problem.startswith(" | cfg:2 | ")
    assert "UTF-8" in problem


def test_error_messages_never_include_values() -> None:
    found = problems('{"password": "hunter2", "password": "s3cret", "n": NaN}', "json")
    assert found and not any("hunter2" in p or "s3cret" in p for p in found)


def test_unknown_format_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown config format"):
        parse_structured(b"", "cfg", "ini")  # type: ignore[arg-type]


# --- YAML: values and lines ---------------------------------------------------------------


@pytest.mark.usefixtures("loader")
def test_yaml_leaves_are_located_at_their_key_line() -> None:
    tree = yaml_tree(
        "# comment\n"
        "debug: true\n"
        "db:\n"
        "  host: localhost\n"
        "\n"
        "  pool:\n"
        "    size: 5\n"
        "  hosts:\n"
        "    - a\n"
        "    - b\n"
        "flow: {x: 1,\n"
        "  y: 2}\n"
    )
    assert locations(tree) == {
        "debug": "app.yaml:2",
        "db.host": "app.yaml:4",
        "db.pool.size": "app.yaml:7",
        "db.hosts": "app.yaml:8",
        "flow.x": "app.yaml:11",
        "flow.y": "app.yaml:12",
    }


@pytest.mark.usefixtures("loader")
def test_yaml_lines_count_like_an_editor_despite_unicode_line_separators() -> None:
    tree = yaml_tree('a: "x\u2028y"\nb: "x\x85y"\r\nc: 1\rd: 2\n')
    assert locations(tree) == {
        "a": "app.yaml:1",
        "b": "app.yaml:2",
        "c": "app.yaml:3",
        "d": "app.yaml:4",
    }
    [problem] = problems('a: "x\u2028y"\nb: [\n')
    assert problem.startswith("b | app.yaml:2 | invalid YAML")  # the key being read
    [problem] = problems("\x85[")  # the parser reports a line past the last one
    assert problem.startswith(" | app.yaml:1 | invalid YAML")


@pytest.mark.usefixtures("loader")
@pytest.mark.parametrize(
    "text", ["NO", "on", "012", "1.10", "1:20", "~", "0x1F", "1e3", ".inf", "2001-12-14", "null"]
)
def test_yaml_plain_scalar_text_is_kept_exactly(text: str) -> None:
    assert leaf(yaml_tree(f"v: {text}\n"), "v").value == Scalar(text, plain=True, tag=None)


@pytest.mark.usefixtures("loader")
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("'NO'", Scalar("NO", plain=False)),
        ('"012"', Scalar("012", plain=False)),
        ("'it''s'", Scalar("it's", plain=False)),
        ('"tab\\there"', Scalar("tab\there", plain=False)),
        ("|\n  line1\n  line2\n", Scalar("line1\nline2\n", plain=False)),
        (">-\n  folded\n  text\n", Scalar("folded text", plain=False)),
        ("", Scalar("", plain=True)),
    ],
)
def test_yaml_quoted_and_block_scalars_are_not_plain(source: str, expected: Scalar) -> None:
    assert leaf(yaml_tree(f"v: {source}\n"), "v").value == expected


@pytest.mark.usefixtures("loader")
def test_yaml_explicit_tag_is_recorded_and_implicit_is_not() -> None:
    tree = yaml_tree(
        "a: !!str 5432\nb: 5432\nc: !!int '7'\nd: ! 12\ne: !<tag:yaml.org,2002:str> x\n"
    )
    assert leaf(tree, "a").value == Scalar("5432", plain=True, tag=STR)
    assert leaf(tree, "b").value == Scalar("5432", plain=True, tag=None)
    assert leaf(tree, "c").value == Scalar("7", plain=False, tag="tag:yaml.org,2002:int")
    assert leaf(tree, "d").value == Scalar("12", plain=True, tag=STR)  # non-specific '!'
    assert leaf(tree, "e").value == Scalar("x", plain=True, tag=STR)


@pytest.mark.usefixtures("loader")
def test_yaml_sequence_is_one_leaf_of_scalars_dicts_and_lists() -> None:
    tree = yaml_tree("items:\n  - 1\n  - {name: x, n: '2'}\n  - [a, b]\n")
    assert leaf(tree, "items") == Leaf(
        [
            Scalar("1"),
            {"name": Scalar("x"), "n": Scalar("2", plain=False)},
            [Scalar("a"), Scalar("b")],
        ],
        Origin("file", "app.yaml:1"),
        interpolate=True,
    )


@pytest.mark.usefixtures("loader")
def test_yaml_mapping_keys_are_their_text() -> None:
    tree = yaml_tree("1: a\n'quoted': b\n~: c\n!!str 3: d\n")
    assert list(tree) == ["1", "quoted", "~", "3"]


@pytest.mark.usefixtures("loader")
@pytest.mark.parametrize("text", ["~\n", "null\n", "--- \n...\n", "# only a comment\n"])
def test_yaml_empty_document_is_an_empty_tree(text: str) -> None:
    assert yaml_tree(text) == {}


@pytest.mark.usefixtures("loader")
def test_yaml_merge_key_copies_base_and_local_keys_win() -> None:
    tree = yaml_tree("x-base: &base\n  image: app\n  port: 80\nweb:\n  <<: *base\n  port: 8080\n")
    assert leaf(tree, "web.image").value == Scalar("app")
    assert leaf(tree, "web.image").location == "app.yaml:2"  # where the value is written
    assert leaf(tree, "web.port").value == Scalar("8080")
    assert leaf(tree, "web.port").location == "app.yaml:6"


@pytest.mark.usefixtures("loader")
def test_yaml_merge_key_list_first_mapping_wins() -> None:
    tree = yaml_tree(
        "a: &a {x: from-a}\n"
        "b: &b {x: from-b, y: from-b}\n"
        "c:\n"
        "  <<: [*a, *b, {z: inline}]\n"
        "d:\n"
        "  !!merge <<: *b\n"
        "e:\n"
        "  '<<': not-a-merge\n"
    )
    merged: Any = tree["c"]
    assert {k: leaf(tree, f"c.{k}").value.text for k in merged} == {
        "x": "from-a",
        "y": "from-b",
        "z": "inline",
    }
    assert [leaf(tree, f"d.{k}").value.text for k in ("x", "y")] == ["from-b", "from-b"]
    assert leaf(tree, "e.<<").value == Scalar("not-a-merge")


@pytest.mark.usefixtures("loader")
def test_yaml_aliases_are_copied_not_shared() -> None:
    tree = yaml_tree("a: &l [1, {k: v}]\nb: *l\nc: &m {k: v}\nd: *m\n")
    assert leaf(tree, "a").value == leaf(tree, "b").value
    assert leaf(tree, "a").value is not leaf(tree, "b").value
    assert leaf(tree, "b").location == "app.yaml:2"
    assert leaf(tree, "d.k").location == "app.yaml:3"
    assert tree["c"] is not tree["d"]


# --- YAML: errors ---------------------------------------------------------------------------


@pytest.mark.usefixtures("loader")
def test_yaml_duplicate_key_names_repeated_key_and_its_line() -> None:
    assert problems("db:\n  port: 1\n  host: h\n  port: 2\nport: 3\n") == [
        "db.port | app.yaml:4 | duplicate key, first defined on line 2"
    ]


@pytest.mark.usefixtures("loader")
def test_yaml_duplicate_keys_inside_lists_and_flow_mappings_are_found() -> None:
    assert problems("a: [{x: 1, x: 2}]\nb: {y: 1,\n  y: 2}\n") == [
        "a[0].x | app.yaml:1 | duplicate key, first defined on line 1",
        "b.y | app.yaml:3 | duplicate key, first defined on line 2",
    ]


@pytest.mark.usefixtures("loader")
def test_yaml_every_problem_is_reported_at_once() -> None:
    found = problems("a: 1\na: 2\nb: !foo x\n? [k]\n: v\n")
    assert [p.split(" | ")[1] for p in found] == ["app.yaml:2", "app.yaml:3", "app.yaml:4"]


@pytest.mark.usefixtures("loader")
@pytest.mark.parametrize(
    ("text", "line", "shown"),
    [
        ("a: 1\nb: !!python/object/apply:os.system ['echo hi']\n", 2, "!!python/object/apply"),
        ("a: !!python/name:os.system\n", 1, "!!python/name:os.system"),
        ("a: !foo x\n", 1, "!foo"),
        ("a: !!binary aGk=\n", 1, "!!binary"),
        ("a: !!set {x, y}\n", 1, "!!set"),
        ("a: !!str [x]\n", 1, "!!str"),
        ("!!python/object:os.Popen x: 1\n", 1, "!!python/object"),
        ("a: !!merge x\n", 1, "!!merge"),
    ],
)
def test_yaml_non_core_tags_are_rejected(text: str, line: int, shown: str) -> None:
    [problem] = problems(text)
    assert f"| app.yaml:{line} | YAML tag {shown}" in problem


@pytest.mark.usefixtures("loader")
def test_yaml_second_document_is_rejected_at_its_line() -> None:
    assert problems("a: 1\n---\nb: 2\n") == [
        " | app.yaml:2 | holds more than one YAML document ('---'); use one per file"
    ]


@pytest.mark.usefixtures("loader")
@pytest.mark.parametrize("text", ["- a\n- b\n", "just text\n", "'~'\n", "42\n"])
def test_yaml_top_level_must_be_a_mapping(text: str) -> None:
    assert problems(text) == [" | app.yaml:1 | the top level must be a mapping of keys to values"]


@pytest.mark.usefixtures("loader")
def test_yaml_non_scalar_keys_are_rejected() -> None:
    assert problems("ok: 1\n? [a, b]\n: 1\n{x: 1}: 2\n") == [
        " | app.yaml:2 | a mapping key must be plain text, not a mapping or list",
        " | app.yaml:4 | a mapping key must be plain text, not a mapping or list",
    ]


@pytest.mark.usefixtures("loader")
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: *nope\n", "alias *nope has no anchor &nope before it"),
        ("a: &r [1, *r]\n", "alias *r refers to a node that contains it"),
        ("a:\n  <<: 1\n", "merge key '<<' needs a mapping or a list of mappings"),
        ("a:\n  <<: [{x: 1}, 2]\n", "merge key '<<' needs a mapping or a list of mappings"),
        ("b: &b {x: 1}\na:\n  <<: *b\n  <<: *b\n", "duplicate merge key '<<' in one mapping"),
    ],
)
def test_yaml_bad_aliases_and_merges_are_rejected(text: str, message: str) -> None:
    [problem] = problems(text)
    assert problem.endswith(f" | {message}")


@pytest.mark.usefixtures("loader")
@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("a: 1\nb: [1,\nc: 2\n", 3, "flow sequence"),
        ("a: 'open\nb: 2\n", 2, "quoted scalar"),
        ("a: 1\n  b: 2\n", 2, "mapping values are not allowed"),
        ("a: 1\nb: \x07\n", 2, "invalid YAML"),
        ("a:\n\tb: 1\n", 2, "invalid YAML"),
    ],
)
def test_yaml_syntax_errors_are_located_without_traceback(text: str, line: int, words: str) -> None:
    [problem] = problems(text)
    assert f"| app.yaml:{line} | invalid YAML: " in problem
    assert words in problem


@pytest.mark.usefixtures("loader")
@pytest.mark.parametrize("depth", [99, 100])
def test_yaml_nesting_up_to_the_limit_is_accepted(depth: int) -> None:
    text = "{a: " * (depth - 1) + "{}" + "}" * (depth - 1)
    node: Any = yaml_tree(text)
    for _ in range(depth - 1):
        node = node["a"]
    assert node == {}


@pytest.mark.usefixtures("loader")
def test_yaml_nesting_beyond_the_limit_is_rejected() -> None:
    [problem] = problems("x:\n  " + "[" * 100 + "]" * 100 + "\n")
    assert problem.endswith(" | app.yaml:2 | nested deeper than 100 levels")


@pytest.mark.usefixtures("loader")
@pytest.mark.parametrize("text", ["[" * 100_000, "a: {" * 100_000, "- " * 100_000 + "x"])
def test_yaml_100k_deep_nesting_fails_fast_without_recursion_error(text: str) -> None:
    started = time.perf_counter()
    [problem] = problems(text)
    assert " | app.yaml:1 | " in problem
    assert "nest" in problem
    assert time.perf_counter() - started < 2


@pytest.mark.usefixtures("loader")
def test_yaml_aliases_cannot_nest_beyond_the_limit() -> None:
    deep = "[" * 60 + "]" * 60
    [problem] = problems(f"a: &a {deep}\nb: {'[' * 50}*a{']' * 50}\n")
    assert problem.endswith(
        "| app.yaml:2 | nested deeper than 100 levels once aliases are expanded"
    )


@pytest.mark.usefixtures("loader")
def test_yaml_alias_bomb_is_capped_quickly() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        this, prev = chr(ord("a") + i), chr(ord("a") + i - 1)
        lines.append(f"{this}: &{this} [{', '.join([f'*{prev}'] * 9)}]")
    started = time.perf_counter()
    [problem] = problems("\n".join(lines) + "\n")
    assert "aliases expand to more than 100000 nodes" in problem
    assert time.perf_counter() - started < 1


@pytest.mark.usefixtures("loader")
def test_yaml_moderate_alias_reuse_is_allowed() -> None:
    tree = yaml_tree("base: &b {x: 1, y: 2}\n" + "".join(f"s{i}:\n  <<: *b\n" for i in range(100)))
    assert len(tree) == 101


# --- JSON -----------------------------------------------------------------------------------


def test_json_leaves_are_located_at_their_key_line() -> None:
    text = (
        '{\n  "a": 1,\n  "db": {\n    "host": "h",\n    "ports": [1, 2]\n  },\n'
        '  "e": {"f": null}\n}'
    )
    tree = parse_structured(text.encode(), "c.json", "json")
    assert locations(tree) == {
        "a": "c.json:2",
        "db.host": "c.json:4",
        "db.ports": "c.json:5",
        "e.f": "c.json:7",
    }
    assert leaf(tree, "db.ports").value == [1, 2]
    assert leaf(tree, "e.f").value is None


def test_json_keys_with_escapes_and_colons_in_strings_keep_their_lines() -> None:
    text = '{"x": "a: {b",\n "k\\"ey\\u00e9": [{"in": "list"}],\n "": {"y": "]}"}}'
    tree = parse_structured(text.encode(), "c.json", "json")
    assert locations(tree) == {"x": "c.json:1", 'k"eyé': "c.json:2", ".y": "c.json:3"}


def test_json_values_are_native() -> None:
    tree = parse_structured(
        b'{"i": 1, "f": 1.5, "b": true, "s": "x", "l": [{"a": 1}]}', "c", "json"
    )
    assert {k: leaf(tree, k).value for k in tree} == {
        "i": 1,
        "f": 1.5,
        "b": True,
        "s": "x",
        "l": [{"a": 1}],
    }


def test_json_duplicate_keys_are_rejected_at_repeated_line() -> None:
    assert problems('{"a": 1,\n "b": {"c": 1,\n  "c": 2},\n "a": 3}', "json", "c.json") == [
        "b.c | c.json:3 | duplicate key, first defined on line 2",
        "a | c.json:4 | duplicate key, first defined on line 1",
    ]


def test_json_duplicates_spelled_differently_are_found() -> None:
    [problem] = problems('{"a": 1, "\\u0061": 2}', "json", "c.json")
    assert "duplicate key" in problem


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_non_standard_constants_are_rejected(constant: str) -> None:
    assert problems(f'{{"a": 1,\n "x": [{constant}]}}', "json", "c.json") == [
        f"x[0] | c.json:2 | {constant} is not allowed in JSON"
    ]


def test_json_constant_names_inside_strings_are_fine() -> None:
    tree = parse_structured(b'{"NaN": "Infinity", "n": "1e999"}', "c", "json")
    assert leaf(tree, "NaN").value == "Infinity"


def test_json_5000_digit_integer_is_a_located_error() -> None:
    assert problems('{"a": 1,\n "big": ' + "9" * 5000 + "}", "json", "c.json") == [
        "big | c.json:2 | integer has more than 4300 digits"
    ]


def test_json_float_overflow_is_rejected() -> None:
    assert problems('{"f": 1e400}', "json", "c.json") == ["f | c.json:1 | number is too large"]


def test_json_long_but_valid_numbers_are_accepted() -> None:
    tree = parse_structured(b'{"i": ' + b"1" * 300 + b', "f": 1e-400}', "c", "json")
    assert leaf(tree, "i").value == int("1" * 300)


def test_json_syntax_error_is_located() -> None:
    assert problems('{"a": 1,\n "b": }', "json", "c.json") == [
        " | c.json:2 | invalid JSON: Expecting value"
    ]


def test_json_syntax_error_is_reported_with_other_problems() -> None:
    found = problems('{"a": NaN,\n "b": 1 "c": 2}', "json", "c.json")
    assert found == [
        "a | c.json:1 | NaN is not allowed in JSON",
        " | c.json:2 | invalid JSON: Expecting ',' delimiter",
    ]


@pytest.mark.parametrize("text", ["[1, 2]", '"text"', "3"])
def test_json_top_level_must_be_an_object(text: str) -> None:
    assert problems(text, "json", "c.json") == [" | c.json:1 | the top level must be an object"]


@pytest.mark.parametrize(("text", "key"), [("[" * 100_000, ""), ('{"a": ' * 100_000, "a")])
def test_json_100k_deep_nesting_is_a_located_error(text: str, key: str) -> None:
    started = time.perf_counter()
    assert problems(text, "json", "c.json") == [f"{key} | c.json:1 | nested deeper than 100 levels"]
    assert time.perf_counter() - started < 1


def test_json_nesting_at_the_limit_is_accepted() -> None:
    text = '{"a": ' * 99 + "[]" + "}" * 99
    node: Any = parse_structured(text.encode(), "c", "json")
    for _ in range(98):
        node = node["a"]
    assert node["a"].value == []


# --- TOML -----------------------------------------------------------------------------------


def test_toml_leaves_are_located_at_their_key_line() -> None:
    text = (
        'title = "x"\n'
        "\n"
        "[db]\n"
        'host = "h"  # comment\n'
        '"quoted.key" = 1\n'
        "pool.size = 5\n"
        "inline = { a = 1, b = { c = 2 } }\n"
        "\n"
        "[db.replica]\n"
        "port = 6000\n"
        "\n"
        "[[servers]]\n"
        'name = "a"\n'
        "[[servers]]\n"
        'name = "b"\n'
        "\n"
        "[ 'literal key' . \"basic\\u0041\" ]\n"
        "k = 1\n"
    )
    tree = parse_structured(text.encode(), "c.toml", "toml")
    assert locations(tree) == {
        "title": "c.toml:1",
        "db.host": "c.toml:4",
        "db.quoted.key": "c.toml:5",
        "db.pool.size": "c.toml:6",
        "db.inline.a": "c.toml:7",
        "db.inline.b.c": "c.toml:7",
        "db.replica.port": "c.toml:10",
        "servers": "c.toml:12",
        "literal key.basicA.k": "c.toml:18",
    }
    assert leaf(tree, "servers").value == [{"name": "a"}, {"name": "b"}]


def test_toml_multiline_strings_and_arrays_do_not_confuse_lines() -> None:
    text = (
        'a = """\n'
        "[not.a.table]\n"
        'fake = "key"\n'
        '"""\n'
        "b = '''\n"
        "c = 3\n"
        "'''\n"
        "ports = [\n"
        '  "x = 1",  # comment ]\n'
        "  2,\n"
        "]\n"
        "d = 4\n"
    )
    tree = parse_structured(text.encode(), "c.toml", "toml")
    assert locations(tree) == {
        "a": "c.toml:1",
        "b": "c.toml:5",
        "ports": "c.toml:8",
        "d": "c.toml:12",
    }
    assert leaf(tree, "a").value == '[not.a.table]\nfake = "key"\n'


def test_toml_values_are_native() -> None:
    tree = parse_structured(b'i = 1\nf = 1.5\nb = true\ns = "x"\nd = 1979-05-27\n', "c", "toml")
    assert [leaf(tree, k).value for k in ("i", "f", "b", "s")] == [1, 1.5, True, "x"]
    assert str(leaf(tree, "d").value) == "1979-05-27"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a = 1\na = 2\n", 2, "Cannot overwrite a value"),
        ("[t]\nx = 1\n[t]\n", 3, "Cannot declare ('t',) twice"),
        ("a = 1\nb = what\n", 2, "Invalid value"),
        ('a = 1\nb = "open\n', 2, "Illegal character"),
        ("a = 1\nb = [1,\n", 2, "Invalid value"),
    ],
)
def test_toml_errors_are_located(text: str, line: int, message: str) -> None:
    [problem] = problems(text, "toml", "c.toml")
    assert problem.startswith(f" | c.toml:{line} | invalid TOML: {message}")
    assert "(at " not in problem


def test_toml_100k_deep_array_is_a_located_error() -> None:
    assert problems("x = 1\na = " + "[" * 100_000, "toml", "c.toml") == [
        "a | c.toml:2 | nested deeper than 100 levels"
    ]


def test_toml_deep_dotted_keys_and_arrays_are_rejected() -> None:
    dotted = ".".join(["k"] * 150) + " = 1\n"
    arrays = "a = " + "[" * 150 + "]" * 150 + "\n"
    found = problems(dotted + arrays, "toml", "c.toml")
    assert [p.split(" | ")[1:] for p in found] == [
        ["c.toml:1", "nested deeper than 100 levels"],
        ["c.toml:2", "nested deeper than 100 levels"],
    ]


# --- .env -----------------------------------------------------------------------------------


def test_env_entries_keep_order_value_line_and_quote() -> None:
    text = (
        "# a comment\n"
        "\n"
        "PLAIN=value  # trailing comment\n"
        "export EXPORTED=1\n"
        "SINGLE='no ${EXPANSION} here'\n"
        'DOUBLE="line1\n'
        'line2 \\"quoted\\""\n'
        "EMPTY=\n"
        "SPACED = spaced value\n"
        "HASH=a#b\n"
        "PLAIN=again\n"
    )
    assert parse_env_text(text.encode(), ".env") == [
        EnvEntry("PLAIN", "value", 3, ""),
        EnvEntry("EXPORTED", "1", 4, ""),
        EnvEntry("SINGLE", "no ${EXPANSION} here", 5, "'"),
        EnvEntry("DOUBLE", 'line1\nline2 "quoted"', 6, '"'),
        EnvEntry("EMPTY", "", 8, ""),
        EnvEntry("SPACED", "spaced value", 9, ""),
        EnvEntry("HASH", "a#b", 10, ""),
        EnvEntry("PLAIN", "again", 11, ""),
    ]


def test_env_variables_are_not_expanded() -> None:
    [entry] = parse_env_text(b'URL="http://${HOST:-x}:$PORT"\n', ".env")
    assert entry.value == "http://${HOST:-x}:$PORT"


def test_env_line_numbers_skip_blank_lines_and_crlf() -> None:
    entries = parse_env_text(b"\r\n\r\nA=1\r\n\r\n  B='2'\r\n", ".env")
    assert [(e.name, e.line, e.quote) for e in entries] == [("A", 3, ""), ("B", 5, "'")]


def test_env_bom_is_ignored() -> None:
    assert parse_env_text(b"\xef\xbb\xbfA=1\n", ".env") == [EnvEntry("A", "1", 1, "")]


def test_env_bad_utf8_is_located() -> None:
    with pytest.raises(ConfigError) as info:
        parse_env_text(b"A=1\nB=caf\xe9\n", ".env")
    [problem] = info.value.problems
    assert problem.location == ".env:2"


def test_env_errors_are_all_reported_with_lines() -> None:
    text = "A=1\nNOEQUALS\nB=\"unterminated\n\nC='x' junk\nD=4\n=novalue\n"
    with pytest.raises(ConfigError) as info:
        parse_env_text(text.encode(), ".env")
    assert [(p.key, p.location) for p in info.value.problems] == [
        ("", ".env:2"),  # a stray line may be a secret: never named by its text
        ("B", ".env:3"),  # a well-formed name before "=" is named, never the value
        ("C", ".env:5"),
        ("", ".env:7"),
    ]
    assert "has no '='" in info.value.problems[0].message
    assert all(p.source == "file" for p in info.value.problems)
    assert "unterminated" not in str(info.value)
    assert "NOEQUALS" not in str(info.value)


def test_env_empty_file_has_no_entries() -> None:
    assert parse_env_text(b"", ".env") == []
    assert parse_env_text(b"# only\n\n", ".env") == []
