"""Fitting a layer to the model: validation keys, YAML scalar typing and unknown keys."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import BaseModel, Field

import envconf
from envconf.load.classinfo import class_info
from envconf.load.fit import (
    ScalarError,
    core_schema,
    fit,
    resolve_scalar,
    resolve_value,
    unknown_nested_keys,
)
from envconf.load.tree import Leaf, Scalar, Tree, plain
from envconf.origin import Origin

CORE_SCHEMA = [
    # null
    ("null", None),
    ("Null", None),
    ("NULL", None),
    ("~", None),
    ("", None),
    # bool: three spellings each, nothing else
    ("true", True),
    ("True", True),
    ("TRUE", True),
    ("false", False),
    ("False", False),
    ("FALSE", False),
    ("yes", "yes"),
    ("no", "no"),
    ("on", "on"),
    ("off", "off"),
    ("y", "y"),
    ("tRUE", "tRUE"),
    # int
    ("0", 0),
    ("012", 12),
    ("-19", -19),
    ("+7", 7),
    ("0o17", 15),
    ("0x1F", 31),
    ("0b11", "0b11"),
    ("1_000", "1_000"),
    # float
    ("1.10", 1.1),
    ("-.5", -0.5),
    ("1e3", 1000.0),
    ("6.8523015e+5", 685230.15),
    (".inf", math.inf),
    ("-.Inf", -math.inf),
    # no sexagesimal
    ("1:20", "1:20"),
    ("190:20:30", "190:20:30"),
    # plain text
    ("hello", "hello"),
    ("2024-01-01", "2024-01-01"),
]


@pytest.mark.parametrize(("text", "expected"), CORE_SCHEMA)
def test_yaml_1_2_core_schema(text: str, expected: Any) -> None:
    value = core_schema(text)
    assert value == expected
    assert type(value) is type(expected)


def test_nan() -> None:
    assert math.isnan(core_schema(".nan"))
    assert core_schema("nan") == "nan"


def test_an_integer_with_too_many_digits_is_an_error() -> None:
    with pytest.raises(ScalarError, match="too large"):
        core_schema("9" * 5000)


# The YAML 1.2 core schema's regular expressions (spec 10.3.2), as the oracle of the
# str-method reader.
_SPEC = [
    (re.compile(r"(?:null|Null|NULL|~|)\Z"), "null"),
    (re.compile(r"(?:true|True|TRUE|false|False|FALSE)\Z"), "bool"),
    (re.compile(r"[-+]?[0-9]+\Z"), "int"),
    (re.compile(r"0o[0-7]+\Z"), "int"),
    (re.compile(r"0x[0-9a-fA-F]+\Z"), "int"),
    (re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z"), "float"),
    (re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z"), "float"),
    (re.compile(r"\.(?:nan|NaN|NAN)\Z"), "float"),
]
_KINDS = {"null": type(None), "bool": bool, "int": int, "float": float}


def _spec_kind(text: str) -> str:
    return next((kind for pattern, kind in _SPEC if pattern.match(text)), "str")


_SCALAR_TEXT = st.one_of(
    st.text(alphabet="0123456789+-.eExXoO_abcfinINFaAlLuU~ \n\u0661\uff11", max_size=12),
    st.text(max_size=8),
)


@given(_SCALAR_TEXT)
@example("1.")
@example(".")
@example("+.5e-3")
@example("1e")
@example("0o")
@example("0x")
@example("-.inf")
@example("-.nan")
@example("1\n")
@example("\u0661")
def test_core_schema_reads_plain_scalars_as_the_spec_patterns(text: str) -> None:
    value = core_schema(text)
    kind = _spec_kind(text)
    assert type(value) is (str if kind == "str" else _KINDS[kind])
    if kind == "str":
        assert value == text


@pytest.mark.parametrize("text", ["NO", "on", "012", "1.10", "1:20", "true", "0x10"])
def test_str_fields_get_the_text_as_written(text: str) -> None:
    assert resolve_scalar(Scalar(text), "str") == text


@pytest.mark.parametrize("text", ["~", "null", ""])
def test_null_stays_null_in_str_fields(text: str) -> None:
    assert resolve_scalar(Scalar(text), "str") is None


def test_quoted_scalars_are_always_text() -> None:
    assert resolve_scalar(Scalar("012", plain=False), "scalar") == "012"
    assert resolve_scalar(Scalar("null", plain=False), "str") == "null"


@pytest.mark.parametrize(
    ("tag", "text", "expected"),
    [
        ("tag:yaml.org,2002:str", "012", "012"),
        ("tag:yaml.org,2002:int", "012", 12),
        ("tag:yaml.org,2002:float", "1", 1.0),
        ("tag:yaml.org,2002:bool", "true", True),
        ("tag:yaml.org,2002:null", "~", None),
    ],
)
def test_explicit_tags_decide_over_the_field(tag: str, text: str, expected: Any) -> None:
    value = resolve_scalar(Scalar(text, tag=tag), "str")
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("tag", "text"),
    [
        ("tag:yaml.org,2002:int", "abc"),
        ("tag:yaml.org,2002:int", "true"),
        ("tag:yaml.org,2002:bool", "yes"),
        ("tag:yaml.org,2002:float", "x"),
        ("tag:yaml.org,2002:null", "0"),
    ],
)
def test_a_value_not_matching_its_tag_is_an_error(tag: str, text: str) -> None:
    with pytest.raises(ScalarError, match="not a valid !!"):
        resolve_scalar(Scalar(text, tag=tag), "any")


def test_containers_are_resolved_by_their_element_types() -> None:
    raw = [Scalar("012"), Scalar("on")]
    assert resolve_value(raw, list[str]) == ["012", "on"]
    assert resolve_value(raw, list[Any]) == [12, "on"]
    assert resolve_value({"a": Scalar("012")}, dict[str, int]) == {"a": 12}
    assert resolve_value({"a": Scalar("012")}, dict[str, str] | None) == {"a": "012"}
    assert resolve_value(raw, tuple[int, str]) == [12, "on"]
    assert resolve_value(raw, tuple[str, ...]) == ["012", "on"]


class Inner(BaseModel):
    port: int = 0


class Shaped(envconf.Settings):
    model_config = envconf.SettingsConfigDict(env_nested_delimiter="__", secrets_dir=None)

    name: str = ""
    count: int = 0
    anything: Any = None
    labels: dict[str, Any] = Field(default_factory=dict)
    inner: Inner = Inner()


def run(tree: Tree, extra: str = "forbid") -> tuple[dict[str, Any], list[str], Tree]:
    fitted, problems = fit(tree, class_info(Shaped).spec, extra)
    return plain(fitted), [str(p) for p in problems], fitted


def fleaf(text: str, line: int = 1) -> Leaf:
    return Leaf(Scalar(text), Origin("file", f"c.yaml:{line}"))


def test_scalars_are_typed_by_field_and_keep_their_origin() -> None:
    data, problems, fitted = run(
        {"name": fleaf("012"), "count": fleaf("012", 2), "inner": {"port": fleaf("7", 3)}}
    )
    assert problems == []
    assert data == {"name": "012", "count": 12, "inner": {"port": 7}}
    assert fitted["inner"]["port"].location == "c.yaml:3"  # type: ignore[index,union-attr]


def test_a_5000_digit_integer_is_a_located_error() -> None:
    _, problems, _ = run({"count": fleaf("9" * 5000, 4)})
    assert problems == ["count: c.yaml:4 (file): integer too large (too many digits)"]


def test_unknown_keys_are_errors_with_suggestions() -> None:
    _, problems, _ = run({"nme": fleaf("x"), "inner": {"prot": fleaf("1", 2)}, "zzz": fleaf("1")})
    assert problems == [
        "nme: c.yaml:1 (file): unknown key (did you mean name?)",
        "inner.prot: c.yaml:2 (file): unknown key (did you mean inner.port?)",
        "zzz: c.yaml:1 (file): unknown key",
    ]


def test_unknown_keys_are_kept_or_dropped_by_extra() -> None:
    data, problems, _ = run({"zzz": fleaf("1"), "yy": {"a": fleaf("x")}}, extra="allow")
    assert (data, problems) == ({"zzz": 1, "yy": {"a": "x"}}, [])  # typed, not raw scalars
    data, problems, _ = run({"zzz": fleaf("1")}, extra="ignore")
    assert (data, problems) == ({}, [])


def test_a_scalar_given_for_a_model_is_passed_on_for_validation() -> None:
    data, problems, _ = run({"inner": fleaf("5")})
    assert (data, problems) == ({"inner": 5}, [])


def test_a_dict_field_keeps_one_origin_per_entry() -> None:
    data, _, fitted = run({"labels": {"a": fleaf("1"), "b": {"c": fleaf("x", 2)}}})
    assert data == {"labels": {"a": 1, "b": {"c": "x"}}}
    assert fitted["labels"]["b"]["c"].location == "c.yaml:2"  # type: ignore[index,union-attr]


def test_keys_are_renamed_to_the_alias_pydantic_validates_under() -> None:
    class Aliased(envconf.Settings):
        model_config = envconf.SettingsConfigDict(secrets_dir=None)
        port: int = Field(default=1, alias="PORT")

    fitted, problems = fit({"port": fleaf("2")}, class_info(Aliased).spec, "forbid")
    assert (plain(fitted), problems) == ({"PORT": 2}, [])


def test_unknown_keys_in_nested_models_are_found_in_any_layer() -> None:
    tree: Tree = {"inner": {"prot": Leaf("1", Origin("env", "APP_INNER"))}}
    problems = unknown_nested_keys(tree, class_info(Shaped).spec)
    assert [str(p) for p in problems] == [
        "inner.prot: APP_INNER (env): unknown key (did you mean inner.port?)"
    ]


def test_a_mapping_merged_from_two_files_names_the_later_file(tmp_path: Path) -> None:
    base, over = tmp_path / "base.yaml", tmp_path / "over.yaml"
    base.write_text('labels:\n  a: "1"\n  b: "2"\n')
    over.write_text('labels:\n  b: "3"\n')

    class S(envconf.Settings):
        model_config = envconf.SettingsConfigDict(secrets_dir=None)
        labels: dict[str, str] = Field(default_factory=dict)

    settings = S.load(env={}, config_files=[str(base), str(over)])
    assert settings.labels == {"a": "1", "b": "3"}
    origin = envconf.explain(settings)["labels"]
    assert origin.location == f"{over}:2"
    assert [o.location for o in origin.overridden] == [f"{base}:3", "default"]


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("u.yaml", "name: a\n\nlogging:\n  level: debug\n  file: x\n", 3),
        ("u.json", '{"name": "a",\n "logging":\n   {"level": "debug"}}\n', 2),
        ("u.toml", 'name = "a"\n\n[logging]\nlevel = "debug"\n', 3),
    ],
)
def test_an_unknown_key_holding_a_mapping_is_reported_on_its_own_line(
    tmp_path: Path, name: str, text: str, line: int
) -> None:
    path = tmp_path / name
    path.write_text(text)

    class S(envconf.Settings):
        model_config = envconf.SettingsConfigDict(secrets_dir=None)
        name: str = "x"

    with pytest.raises(envconf.ConfigError) as caught:
        S.load(env={}, config_files=[str(path)])
    assert [str(p) for p in caught.value.problems] == [
        f"logging: {path}:{line} (file): unknown key"
    ]


def test_an_unknown_mapping_in_two_files_is_reported_where_the_later_file_writes_it(
    tmp_path: Path,
) -> None:
    base, over = tmp_path / "base.yaml", tmp_path / "over.yaml"
    base.write_text("logging:\n  level: debug\n")
    over.write_text("\nlogging:\n  file: x\n")

    class S(envconf.Settings):
        model_config = envconf.SettingsConfigDict(secrets_dir=None)
        name: str = "x"

    with pytest.raises(envconf.ConfigError) as caught:
        S.load(env={}, config_files=[str(base), str(over)])
    assert [str(p) for p in caught.value.problems] == [f"logging: {over}:2 (file): unknown key"]


# --- models inside values: list[Server], dict[str, Server], a model without a delimiter ---


class Server(BaseModel):
    name: str = "s"
    port: int = 1
    tls_port: int = Field(default=2, alias="tlsPort")


class Open(BaseModel):
    model_config = {"extra": "allow"}
    name: str = "o"


class Strict(BaseModel):
    model_config = {"extra": "forbid"}
    name: str = "f"


class Shaped2(BaseModel):
    """A nested model whose fields are Server lists, for the no-delimiter case."""

    main: Server = Server()
    more: list[Server] = Field(default_factory=list)


def _fleet(delimiter: str | None) -> type[envconf.Settings]:
    class Fleet(envconf.Settings):
        model_config = envconf.SettingsConfigDict(
            env_prefix="APP_", env_nested_delimiter=delimiter, secrets_dir=None
        )
        servers: list[Server] = Field(default_factory=list)
        named: dict[str, Server] = Field(default_factory=dict)
        pair: tuple[Server, int] | None = None
        db: Shaped2 = Shaped2()
        opened: list[Open] = Field(default_factory=list)
        strict: list[Strict] = Field(default_factory=list)

    return Fleet


def _problems(cls: type[envconf.Settings], **load: Any) -> list[str]:
    with pytest.raises(envconf.ConfigError) as caught:
        cls.load(**load)
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize("delimiter", ["__", None])
def test_a_typo_in_a_list_element_of_a_config_file_is_reported_on_the_list_s_line(
    tmp_path: Path, delimiter: str | None
) -> None:
    conf = tmp_path / "c.yaml"
    conf.write_text("servers:\n  - name: a\n    prot: 80\n")
    assert _problems(_fleet(delimiter), env={}, argv=[], config_files=[str(conf)]) == [
        f"servers.0.prot: {conf}:1 (file): unknown key (did you mean servers.0.port?)"
    ]


@pytest.mark.parametrize("delimiter", ["__", None])
def test_a_typo_at_any_depth_of_a_model_value_is_reported(
    tmp_path: Path, delimiter: str | None
) -> None:
    conf = tmp_path / "c.yaml"
    conf.write_text(
        "named:\n  a:\n    nmae: x\n"
        "pair:\n  - {hots: h}\n  - 3\n"
        "db:\n  main:\n    prot: 1\n  more:\n    - name: m\n      tlsport: 5\n"
    )
    problems = _problems(_fleet(delimiter), env={}, argv=[], config_files=[str(conf)])
    assert sorted(problems) == [
        f"db.main.prot: {conf}:9 (file): unknown key (did you mean db.main.port?)",
        f"db.more.0.tlsport: {conf}:10 (file): unknown key (did you mean db.more.0.tls_port?)",
        f"named.a.nmae: {conf}:3 (file): unknown key (did you mean named.a.name?)",
        f"pair.0.hots: {conf}:4 (file): unknown key",
    ]


def test_a_model_value_s_str_field_gets_the_text_as_written_and_aliases_are_renamed(
    tmp_path: Path,
) -> None:
    conf = tmp_path / "c.yaml"
    conf.write_text("servers:\n  - name: 007\n    port: 0x10\n    tls_port: 9\n")
    settings = _fleet("__").load(env={}, argv=[], config_files=[str(conf)])
    assert settings.servers == [Server(name="007", port=16, tlsPort=9)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("delimiter", ["__", None])
def test_typos_in_models_inside_json_variables_and_flags_are_reported(
    delimiter: str | None,
) -> None:
    env = {"APP_SERVERS": '[{"prot": 2}]', "APP_NAMED": '{"a": {"nmae": "q"}}'}
    problems = _problems(_fleet(delimiter), env=env, argv=["--db", '{"main": {"hots": 1}}'])
    assert sorted(problems) == [
        "db.main.hots: --db (cli): unknown key",
        "named.a.nmae: APP_NAMED (env): unknown key (did you mean named.a.name?)",
        "servers.0.prot: APP_SERVERS (env): unknown key (did you mean servers.0.port?)",
    ]


def test_models_that_take_extra_keys_or_judge_them_themselves_are_left_to_pydantic() -> None:
    from pydantic import RootModel, model_validator

    class Renamed(BaseModel):
        port: int = 1

        @model_validator(mode="before")
        @classmethod
        def _legacy(cls, data: Any) -> Any:
            return {"port": data.pop("old_port")} if "old_port" in data else data

    class Odd(envconf.Settings):
        model_config = envconf.SettingsConfigDict(env_prefix="APP_", secrets_dir=None)
        opened: list[Open] = Field(default_factory=list)
        renamed: list[Renamed] = Field(default_factory=list)
        rooted: list[RootModel[dict[str, int]]] = Field(default_factory=list)
        strict: list[Strict] = Field(default_factory=list)

    env = {
        "APP_OPENED": '[{"name": "a", "more": 1}]',
        "APP_RENAMED": '[{"old_port": 7}]',
        "APP_ROOTED": '[{"anything": 3}]',
    }
    settings = Odd.load(env=env, argv=[])
    assert settings.opened[0].model_extra == {"more": 1}
    assert settings.renamed[0].port == 7
    assert settings.rooted[0].root == {"anything": 3}
    # extra="forbid": pydantic's own error, once
    assert _problems(Odd, env={"APP_STRICT": '[{"nmae": "x"}]'}, argv=[]) == [
        "strict.0.nmae: APP_STRICT (env): Extra inputs are not permitted"
    ]


@pytest.mark.parametrize("delimiter", ["__", None])
def test_keys_match_case_insensitively_down_models_but_not_inside_a_list(
    delimiter: str | None,
) -> None:
    fleet = _fleet(delimiter)
    # pydantic-settings renames keys of nested models case-insensitively...
    assert fleet.load(env={"APP_DB": '{"MAIN": {"PORT": 5}}'}, argv=[]).db.main.port == 5  # type: ignore[attr-defined]
    # ...but not inside a list, where pydantic would drop "Name" without a word
    assert _problems(fleet, env={"APP_SERVERS": '[{"Name": "x"}]'}, argv=[]) == [
        "servers.0.Name: APP_SERVERS (env): unknown key (did you mean servers.0.name?)"
    ]
