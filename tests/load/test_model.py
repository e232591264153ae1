"""What envconf derives from a settings class: leaves, kinds, names, defaults."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import pytest
from pydantic import BaseModel, Field, SecretBytes, SecretStr

import envconf
from envconf.load.describe import format_default, type_label
from envconf.load.model import (
    FieldSpec,
    ModelSpec,
    build_spec,
    is_secret,
    is_sequence,
    kind_of,
    model_class,
)


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    LOW = 1


@pytest.mark.parametrize(
    ("annotation", "kind"),
    [
        (str, "str"),
        (Optional[str], "str"),  # noqa: UP045 - the typing spelling must work too
        (str | None, "str"),
        (Annotated[str, "x"], "str"),
        (Annotated[str, "x"] | None, "str"),
        (Annotated[list[int], "x"] | None, "complex"),
        (SecretStr, "str"),
        (SecretStr | None, "str"),
        (Path, "str"),
        (Literal["a", "b"], "str"),
        (Literal[1, 2], "scalar"),
        (Color, "str"),
        (Level, "scalar"),
        (bool, "bool"),
        (bool | None, "bool"),
        (int, "scalar"),
        (float, "scalar"),
        (int | str, "scalar"),
        (list[str], "complex"),
        (dict[str, int], "complex"),
        (tuple[int, ...], "complex"),
        (set[str], "complex"),
        (Any, "any"),
    ],
)
def test_kind_of(annotation: Any, kind: str) -> None:
    assert kind_of(annotation) == kind


@pytest.mark.parametrize(
    ("annotation", "secret"),
    [
        (SecretStr, True),
        (SecretBytes, True),
        (SecretStr | None, True),
        (Annotated[SecretStr, "x"], True),
        (Optional[Annotated[SecretStr, Field(min_length=8)]], True),  # noqa: UP045
        (Annotated[SecretStr, "x"] | None, True),
        (str, False),
        (list[SecretStr], False),
    ],
)
def test_is_secret(annotation: Any, secret: bool) -> None:
    assert is_secret(annotation) is secret


@pytest.mark.parametrize(
    ("annotation", "label"),
    [
        (int, "int"),
        (str | None, "str | None"),
        (list[str], "list[str]"),
        (dict[str, Any], "dict[str, Any]"),
        (Literal["a", "b"], "'a' | 'b'"),
        (Annotated[int, "x"], "int"),
        (SecretStr | None, "SecretStr | None"),
    ],
)
def test_type_label(annotation: Any, label: str) -> None:
    assert type_label(annotation) == label


def test_is_sequence() -> None:
    assert is_sequence(list[int]) and is_sequence(tuple[int, ...]) and is_sequence(set[str] | None)
    assert is_sequence(Annotated[list[int], "x"] | None)
    assert not is_sequence(str) and not is_sequence(dict[str, int])


class Inner(BaseModel):
    host: str = "localhost"
    port: int = 5432


class Info(envconf.Settings):
    model_config = envconf.SettingsConfigDict(env_prefix="APP_", env_nested_delimiter="__")

    max_conns: int = 3
    """Most connections."""
    token: SecretStr = SecretStr("hunter2")
    needed: str
    tags: set[str] = Field(default_factory=lambda: {"b", "a", "c"})
    db: Inner = Inner(port=1)
    maybe_db: Inner | None = None


def spec() -> ModelSpec:
    return build_spec(Info, prefix="APP_", delimiter="__")


def test_leaves_are_dotted_keys_in_declaration_order() -> None:
    assert [leaf.key for leaf in spec().leaves()] == [
        "max_conns",
        "token",
        "needed",
        "tags",
        "db.host",
        "db.port",
        "maybe_db.host",
        "maybe_db.port",
    ]


def test_names_flags_and_descriptions() -> None:
    leaf = spec().find(("max_conns",))
    assert isinstance(leaf, FieldSpec)
    assert (leaf.env_name, leaf.cli_flag, leaf.description) == (
        "APP_MAX_CONNS",
        "--max-conns",
        "Most connections.",
    )
    nested = spec().find(("db", "port"))
    assert isinstance(nested, FieldSpec)
    assert (nested.env_name, nested.cli_flag) == ("APP_DB__PORT", "--db.port")
    model = spec().find(("db",))
    assert isinstance(model, ModelSpec) and model.env_name == "APP_DB"


def test_defaults_come_from_a_parent_default_instance() -> None:
    port = spec().find(("db", "port"))
    assert isinstance(port, FieldSpec) and port.default == 1


def test_required_and_defaults_as_shown() -> None:
    needed, token, tags = (spec().find((n,)) for n in ("needed", "token", "tags"))
    assert isinstance(needed, FieldSpec) and needed.required
    assert format_default(needed) == "(required)"
    assert isinstance(token, FieldSpec) and format_default(token) == "(secret)"
    assert isinstance(tags, FieldSpec) and format_default(tags) == "{'a', 'b', 'c'}"


def test_find_returns_none_for_unknown_paths() -> None:
    assert spec().find(("nope",)) is None
    assert spec().find(("max_conns", "deeper")) is None


def test_without_a_delimiter_a_nested_model_is_one_complex_leaf() -> None:
    flat = build_spec(Info, prefix="APP_", delimiter="")
    leaf = flat.find(("db",))
    assert isinstance(leaf, FieldSpec) and leaf.kind == "complex"
    assert format_default(leaf) == '{"host":"localhost","port":1}'


def test_model_class() -> None:
    assert model_class(Inner | None) is Inner
    assert model_class(int) is None


def test_case_sensitive_names_keep_their_case() -> None:
    exact = build_spec(Info, prefix="app_", delimiter="__", case_sensitive=True)
    leaf = exact.find(("max_conns",))
    assert isinstance(leaf, FieldSpec) and leaf.env_name == "app_max_conns"


def test_an_aliased_field_is_documented_by_the_variable_that_really_sets_it() -> None:
    from pydantic import BaseModel, Field

    import envconf
    from envconf.load.classinfo import class_info

    class Db(BaseModel):
        host: str = Field(default="h", alias="HOST_X")

    class Aliased(envconf.Settings):
        model_config = envconf.SettingsConfigDict(
            env_prefix="APP_", env_nested_delimiter="__", secrets_dir=None
        )
        url: str = Field(default="u", alias="URL")
        port: int = 1
        db: Db = Db()

    leaves = {leaf.key: leaf.env_name for leaf in class_info(Aliased).spec.leaves()}
    # pydantic-settings reads a top-level alias without the prefix, a nested one as a segment
    assert leaves == {"url": "URL", "port": "APP_PORT", "db.host": "APP_DB__HOST_X"}
    settings = Aliased.load(env={"URL": "x", "APP_DB__HOST_X": "y", "APP_PORT": "2"})
    assert (settings.url, settings.db.host, settings.port) == ("x", "y", 2)
