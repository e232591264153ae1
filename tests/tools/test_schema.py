"""The config-file schema of a settings class: ``envconf.tools.schema``."""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import jsonschema
import pytest
import yaml
from pydantic import AliasChoices, AliasPath, BaseModel, ConfigDict, Field, SecretStr

import envconf
from envconf.tools.docs import markdown_reference
from envconf.tools.schema import (
    DIALECT,
    REFERENCE_DEF,
    REFERENCE_PATTERN,
    config_schema,
    schema_text,
)

REFERENCE = {"$ref": f"#/$defs/{REFERENCE_DEF}"}


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Server(BaseModel):
    name: str
    port: int = 80
    token: SecretStr = SecretStr("list-secret")


class Database(BaseModel):
    """Where the data lives."""

    host: str = "localhost"
    port: int = Field(default=5432, ge=1, le=65535, description="Database port")
    password: SecretStr | None = Field(default=None, description="Database password")


class Shop(envconf.Settings):
    """Settings of the shop."""

    model_config = envconf.SettingsConfigDict(
        env_prefix="SHOP_", env_nested_delimiter="__", secrets_dir=None
    )

    debug: bool = False
    """Verbose logging."""
    workers: int = Field(default=2, ge=1, description="Worker processes")
    name: str
    level: Literal["DEBUG", "INFO"] = "INFO"
    color: Color = Color.RED
    code: str = Field(default="ab", pattern=r"^[a-z]+$")
    tags: set[str] = Field(default_factory=lambda: {"b", "a", "c"})
    limits: dict[str, int] = Field(default_factory=dict)
    servers: list[Server] = Field(default_factory=list)
    token: SecretStr = SecretStr("top-secret-default")
    keys: dict[str, SecretStr] = Field(default_factory=lambda: {"a": SecretStr("map-secret")})
    db: Database = Database(port=6432)
    replica: Database | None = None


@pytest.fixture(scope="module")
def shop() -> dict[str, Any]:
    return config_schema(Shop)


def validate(schema: dict[str, Any], document: Any) -> list[str]:
    jsonschema.Draft202012Validator.check_schema(schema)
    found = jsonschema.Draft202012Validator(schema).iter_errors(document)
    return [e.message for e in found]


# --- the document ------------------------------------------------------------------------


def test_the_schema_is_draft_2020_12_and_valid(shop: dict[str, Any]) -> None:
    assert shop["$schema"] == DIALECT
    jsonschema.Draft202012Validator.check_schema(shop)
    assert shop["title"] == "Shop config file"
    assert shop["description"].startswith("Settings of the shop.\n\n")


def test_keys_come_in_declaration_order(shop: dict[str, Any]) -> None:
    assert list(shop["properties"]) == list(Shop.model_fields)


def test_nothing_is_required_in_a_file(shop: dict[str, Any]) -> None:
    assert "required" not in shop
    assert "required" not in shop["properties"]["db"]
    assert validate(shop, {}) == []
    name = shop["properties"]["name"]
    assert "default" not in name
    assert name["description"].startswith("Required: set it in a file or another layer.")


def test_json_and_yaml_text_hold_the_same_schema(shop: dict[str, Any]) -> None:
    assert json.loads(schema_text(shop)) == shop
    assert yaml.safe_load(schema_text(shop, "yaml")) == shop
    assert schema_text(shop) == schema_text(config_schema(Shop))  # stable


# --- names: variable, _FILE variable, flag -------------------------------------------------


def test_each_description_names_the_variable_its_file_variable_and_the_flag(
    shop: dict[str, Any],
) -> None:
    workers = shop["properties"]["workers"]["description"]
    assert workers == (
        "Worker processes\n\nEnvironment variable SHOP_WORKERS (or SHOP_WORKERS_FILE: a file "
        "holding the value). Command-line flag --workers."
    )
    debug = shop["properties"]["debug"]["description"]
    assert debug.startswith("Verbose logging.\n\n")  # the attribute's docstring
    assert "Command-line flag --debug / --no-debug." in debug
    port = shop["properties"]["db"]["properties"]["port"]["description"]
    assert "SHOP_DB__PORT (or SHOP_DB__PORT_FILE" in port
    assert "--db.port" in port


def test_the_schema_and_the_docs_name_the_same_variables_and_flags(shop: dict[str, Any]) -> None:
    reference = markdown_reference(Shop)
    rows = [line.split(" | ") for line in reference.splitlines() if line.startswith("| `")]
    assert rows
    for row in rows:
        key, variable, flag = row[0].strip("| `"), row[3].strip("`"), row[4].strip("`")
        node = shop
        for part in key.split("."):
            node = node["properties"][part]
            node = next((b for b in node.get("anyOf", ()) if "properties" in b), node)
        assert f"Environment variable {variable} (or {variable}_FILE" in node["description"]
        assert f"Command-line flag {flag}." in node["description"]


def test_nested_models_are_inlined_for_each_key(shop: dict[str, Any]) -> None:
    db = shop["properties"]["db"]
    assert db["type"] == "object"
    assert db["description"] == (
        "Where the data lives.\n\nAlso set by environment variables SHOP_DB__<KEY> and "
        "command-line flags --db.<key>."
    )
    replica = shop["properties"]["replica"]
    inner = next(b for b in replica["anyOf"] if b.get("type") == "object")
    assert {"type": "null"} in replica["anyOf"]
    assert "SHOP_REPLICA__HOST" in inner["properties"]["host"]["description"]
    assert "Database" not in shop.get("$defs", {})  # inlined, not shared
    assert validate(shop, {"replica": None, "db": {"port": 1}}) == []


def test_a_custom_prefix_suffix_and_case_sensitivity_show_in_the_names() -> None:
    class Exact(envconf.Settings):
        model_config = envconf.SettingsConfigDict(
            env_prefix="x_", case_sensitive=True, file_suffix="_PATH", secrets_dir=None
        )
        Level: int = 1

    text = config_schema(Exact)["properties"]["Level"]["description"]
    assert "Environment variable x_Level (or x_Level_PATH: a file holding the value)" in text


def test_layers_left_out_of_the_precedence_are_not_offered() -> None:
    class FilesOnly(envconf.Settings):
        model_config = envconf.SettingsConfigDict(precedence=["file"], secrets_dir=None)
        workers: int = Field(default=1, description="Workers")

    assert config_schema(FilesOnly)["properties"]["workers"]["description"] == "Workers"


# --- secrets ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [("token",), ("keys",), ("db", "password")])
def test_secrets_are_write_only_without_a_default(shop: dict[str, Any], path: tuple[str]) -> None:
    node = shop
    for part in path:
        node = node["properties"][part]
    assert node["writeOnly"] is True
    assert "default" not in node
    assert "A secret: prefer " in node["description"]


def test_no_secret_text_or_mask_appears_anywhere(shop: dict[str, Any]) -> None:
    text = schema_text(shop) + schema_text(shop, "yaml")
    for secret in ("top-secret-default", "map-secret", "list-secret", "**********"):
        assert secret not in text
    token = shop["$defs"]["Server"]["properties"]["token"]  # a model inside a list
    assert token["writeOnly"] is True
    assert "default" not in token


def test_a_default_that_holds_a_secret_is_not_shown() -> None:
    class Holder(envconf.Settings):
        model_config = envconf.SettingsConfigDict(secrets_dir=None)
        db: Database = Database(password=SecretStr("nested-secret"))  # no delimiter: one value

    schema = config_schema(Holder)
    assert "default" not in schema["properties"]["db"]
    assert "nested-secret" not in schema_text(schema)


# --- unknown keys, as the loader treats them -------------------------------------------------


def test_unknown_keys_are_rejected_where_the_loader_rejects_them(shop: dict[str, Any]) -> None:
    assert shop["additionalProperties"] is False
    assert shop["properties"]["db"]["additionalProperties"] is False
    # pydantic ignores unknown keys of a model inside a list; the loader reports them.
    assert shop["$defs"]["Server"]["additionalProperties"] is False
    assert validate(shop, {"wrokers": 1}) == ["Additional properties are not allowed "
                                              "('wrokers' was unexpected)"]  # fmt: skip
    assert validate(shop, {"db": {"hots": "x"}}) != []
    assert validate(shop, {"servers": [{"name": "a", "prot": 1}]}) != []
    assert validate(shop, {"servers": [{"name": "a", "port": 1}]}) == []


def test_extra_ignore_lets_unknown_keys_pass() -> None:
    class Lenient(envconf.Settings):
        model_config = envconf.SettingsConfigDict(
            extra="ignore", env_nested_delimiter="__", secrets_dir=None
        )
        db: Database = Database()

    schema = config_schema(Lenient)
    assert "additionalProperties" not in schema
    assert "additionalProperties" not in schema["properties"]["db"]


def test_a_model_without_a_delimiter_is_one_value_merged_across_files() -> None:
    class Server2(BaseModel):
        host: str
        port: int = 1

    class Flat(envconf.Settings):
        model_config = envconf.SettingsConfigDict(secrets_dir=None)
        server: Server2

    schema = config_schema(Flat)
    server = schema["properties"]["server"]
    assert server["type"] == "object"
    assert "required" not in server  # another file (or APP_SERVER) may give host
    assert server["additionalProperties"] is False  # the loader reports unknown keys there
    assert validate(schema, {"server": {"hots": "x"}}) != []
    assert "Environment variable SERVER (or SERVER_FILE" in server["description"]


# --- the keys config files write -------------------------------------------------------------


def test_aliases_are_keys_too() -> None:
    class Aliased(envconf.Settings):
        model_config = envconf.SettingsConfigDict(secrets_dir=None)
        url: str = Field(default="x", validation_alias=AliasChoices("URL", "the_url"))
        card: str = Field(default="y", validation_alias=AliasPath("cards", 0))

    schema = config_schema(Aliased)
    assert list(schema["properties"]) == ["url", "URL", "the_url", "card", "cards"]
    assert schema["properties"]["URL"]["description"].startswith("Alias of url. ")
    assert schema["properties"]["cards"] == {"description": "Alias path of card: holds its value."}
    for document in ({"url": "a"}, {"URL": "a"}, {"the_url": "a"}, {"cards": ["b"]}):
        assert validate(schema, document) == []


def test_a_model_inside_a_value_takes_its_keys_by_name_and_alias_and_nothing_else(
    tmp_path: Path,
) -> None:
    class Peer(BaseModel):
        url: str = Field(default="x", alias="URL")
        card: str = Field(default="y", validation_alias=AliasPath("cards", 0))

    class Open(BaseModel):
        model_config = {"extra": "allow"}
        name: str = "o"

    class Peers(envconf.Settings):
        model_config = envconf.SettingsConfigDict(secrets_dir=None)
        peers: list[Peer] = Field(default_factory=list)
        by_name: dict[str, Peer] = Field(default_factory=dict)
        opened: list[Open] = Field(default_factory=list)

    schema = config_schema(Peers)
    peer = schema["$defs"]["Peer"]
    assert list(peer["properties"]) == ["URL", "card", "url", "cards"]
    assert peer["properties"]["cards"] == {"description": "Alias path of card: holds its value."}
    assert peer["additionalProperties"] is False
    assert schema["$defs"]["Open"]["additionalProperties"] is True  # extra="allow"
    for document in (
        {"peers": [{"url": "a"}, {"URL": "b"}, {"cards": ["c"]}]},
        {"by_name": {"x": {"url": "a"}}},
        {"opened": [{"anything": 1}]},
    ):
        assert validate(schema, document) == []
        (tmp_path / "ok.yaml").write_text(yaml.safe_dump(document))
        Peers.load(env={}, argv=[], config_files=[str(tmp_path / "ok.yaml")])  # loads too
    typo = {"by_name": {"x": {"ulr": "a"}}}
    assert validate(schema, typo) != []
    (tmp_path / "typo.yaml").write_text(yaml.safe_dump(typo))
    with pytest.raises(envconf.ConfigError, match=r"by_name\.x\.ulr: .*unknown key"):
        Peers.load(env={}, argv=[], config_files=[str(tmp_path / "typo.yaml")])


# --- types, enums, constraints, defaults -----------------------------------------------------


def test_enums_and_literals_list_their_values(shop: dict[str, Any]) -> None:
    level = shop["properties"]["level"]
    assert level["anyOf"] == [{"enum": ["DEBUG", "INFO"], "type": "string"}, REFERENCE]
    assert shop["properties"]["color"]["$ref"] == "#/$defs/Color"
    assert shop["$defs"]["Color"]["anyOf"][0] == {"enum": ["red", "blue"], "type": "string"}
    assert validate(shop, {"level": "TRACE"}) != []
    assert validate(shop, {"color": "green"}) != []
    assert validate(shop, {"level": "DEBUG", "color": "blue"}) == []


def test_constraints_come_from_the_model(shop: dict[str, Any]) -> None:
    workers = shop["properties"]["workers"]
    assert workers["anyOf"] == [{"minimum": 1, "type": "integer"}, REFERENCE]
    port = shop["properties"]["db"]["properties"]["port"]
    assert port["anyOf"][0] == {"maximum": 65535, "minimum": 1, "type": "integer"}
    assert validate(shop, {"workers": 0}) != []
    assert validate(shop, {"db": {"port": 70000}}) != []
    assert validate(shop, {"code": "AB"}) != []


def test_defaults_are_shown_as_json(shop: dict[str, Any]) -> None:
    props = shop["properties"]
    assert props["workers"]["default"] == 2
    assert props["color"]["default"] == "red"
    assert props["tags"]["default"] == ["a", "b", "c"]  # a set, sorted: stable output
    assert props["limits"]["default"] == {}
    assert props["db"]["properties"]["port"]["default"] == 6432  # the field's default instance
    assert "default" not in props["db"]
    assert props["replica"]["default"] is None


def test_a_reference_is_accepted_where_interpolation_expands_it(shop: dict[str, Any]) -> None:
    assert shop["$defs"][REFERENCE_DEF]["pattern"] == REFERENCE_PATTERN
    ok = {"workers": "${WORKERS:-4}", "debug": "$DEBUG", "level": "${LEVEL}", "code": "${C}"}
    assert validate(shop, ok) == []
    assert validate(shop, {"servers": [{"name": "a", "port": "${PORT}"}]}) == []
    assert validate(shop, {"workers": "$$WORKERS"}) != []  # "$$" is a literal "$"
    assert validate(shop, {"workers": "four"}) != []


def test_without_interpolation_a_reference_is_just_a_wrong_type() -> None:
    class Plain(envconf.Settings):
        model_config = envconf.SettingsConfigDict(interpolate=False, secrets_dir=None)
        workers: int = 1

    schema = config_schema(Plain)
    assert schema["properties"]["workers"]["type"] == "integer"
    assert "$defs" not in schema
    assert validate(schema, {"workers": "${W}"}) != []


def test_a_text_field_takes_any_yaml_scalar_as_written(shop: dict[str, Any]) -> None:
    # The loader keeps `name: 012` and `name: on` as text; an editor must not flag them.
    assert shop["properties"]["name"]["type"] == ["string", "number", "boolean"]
    assert shop["properties"]["tags"]["items"]["type"] == ["string", "number", "boolean"]
    assert validate(shop, {"name": 12, "tags": [1.1, True]}) == []
    assert validate(shop, {"name": None}) != []
    # Inside a model in a list too: the loader types its keys by the model's fields.
    assert shop["$defs"]["Server"]["properties"]["name"]["type"] == ["string", "number", "boolean"]
    assert validate(shop, {"servers": [{"name": 7}]}) == []


def test_a_type_with_no_json_schema_accepts_anything() -> None:
    class Hooks(envconf.Settings):
        model_config = envconf.SettingsConfigDict(secrets_dir=None, arbitrary_types_allowed=True)
        hook: Callable[[], None] | None = None

    schema = config_schema(Hooks)
    assert "hook" in schema["properties"]


# --- the schema agrees with the loader ----------------------------------------------------


class Agree(envconf.Settings):
    model_config = envconf.SettingsConfigDict(
        env_prefix="APP_", env_nested_delimiter="__", secrets_dir=None
    )

    workers: int = Field(default=1, ge=1)
    name: str = "app"
    level: Literal["DEBUG", "INFO"] = "INFO"
    hosts: list[str] = Field(default_factory=list)
    servers: list[Server] = Field(default_factory=list)
    db: Database = Database()


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("workers: 3\nname: shop\n", True),
        ("wrokers: 3\n", False),
        ("db:\n  hots: x\n", False),
        ("workers: many\n", False),
        ("workers: 0\n", False),
        ("workers: ${W:-3}\n", True),
        ("level: ${LEVEL:-DEBUG}\n", True),
        ("level: TRACE\n", False),
        ("name: 012\nhosts: [a, 1.10, true]\n", True),
        ("db:\n  port: ${P:-6000}\n  password: hunter2\n", True),
        ("db:\n  port: 70000\n", False),
        ("servers:\n  - name: a\n    prot: 1\n", False),
        ("servers:\n  - name: 012\n    port: 0x10\n", True),
        ("hosts: a\n", False),
        ("db: null\n", False),
    ],
)
def test_the_schema_accepts_what_the_loader_accepts(text: str, valid: bool, tmp_path: Path) -> None:
    config = tmp_path / "app.yaml"
    config.write_text(text)
    try:
        Agree.load(env={"W": "3"}, config_files=[str(config)])
        loads = True
    except envconf.ConfigError:
        loads = False
    errors = validate(config_schema(Agree), yaml.safe_load(text))
    assert (loads, not errors) == (valid, valid), errors


def test_a_model_config_with_extra_forbid_on_a_nested_model_changes_nothing() -> None:
    class Strict(BaseModel):
        model_config = ConfigDict(extra="forbid")
        host: str = "h"

    class App(envconf.Settings):
        model_config = envconf.SettingsConfigDict(
            extra="ignore", env_nested_delimiter="__", secrets_dir=None
        )
        db: Strict = Strict()

    # The loader drops unknown nested keys under the class' extra="ignore" before pydantic.
    assert "additionalProperties" not in config_schema(App)["properties"]["db"]


def test_fields_named_like_schema_keywords_keep_their_definitions() -> None:
    class Odd(envconf.Settings):
        model_config = envconf.SettingsConfigDict(secrets_dir=None)
        default: list[Server] = Field(default_factory=list)
        enum: Color = Color.RED
        properties: dict[str, Server] = Field(default_factory=dict)

    schema = config_schema(Odd)
    assert set(schema["$defs"]) == {"Server", "Color", REFERENCE_DEF}
    document = {"default": [{"name": "a"}], "enum": "blue", "properties": {"x": {"name": "b"}}}
    assert validate(schema, document) == []
