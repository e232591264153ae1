"""Fuzz the config file parsers (YAML, JSON, TOML, ``.env``) and the loader behind them.

Any bytes give a tree or one ConfigError whose every problem is located at a line of
that file; never another exception, never a recursion or memory blow-up, and never the
text of a ``.env`` line that could not be parsed (it may be a secret pasted alone).
"""

from __future__ import annotations

import re
import tempfile
import warnings
from pathlib import Path
from typing import Any, Literal

from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field, SecretStr

import envconf
from envconf.errors import ConfigError
from envconf.load.formats import parse_env_text, parse_structured

from .budget import fuzz

Format = Literal["yaml", "json", "toml"]
SECRET = "pasted-s3cret"  # a '-' keeps it from ever being a well-formed name

YAML_PIECES = [
    "a", "b:", ": ", "- ", "\n", "  ", "[", "]", "{", "}", ",", "&x ", "*x", "<<: *x", "---",
    "!!python/object/apply:os.system [id]", "!!str ", "!!int ", "'", '"', "#", "|", ">",
    "~", "null", "012", "1e999", "9" * 50, "\t", "\ufeff", "\x85", "? ", "%YAML 1.1\n",
]  # fmt: skip
JSON_PIECES = [
    "{", "}", "[", "]", ",", ":", '"a"', '"b"', '"\\u0000"', "NaN", "-Infinity", "1e999",
    "9" * 5000, "true", "null", " ", "\n", '"\\ud800"',
]  # fmt: skip
TOML_PIECES = [
    "a", "b", " = ", "[t]", "[[t]]", "\n", '"', "'", '"""', "'''", "[", "]", "{", "}", ",",
    "1", "9" * 5000, "inf", "nan", "1979-05-27", "#", ".", "true", "0x1F",
]  # fmt: skip
ENV_PIECES = [
    "APP_A", "=", "'", '"', "\\", "\n", "\r\n", " ", "export ", "#", "${APP_A}", "$",
    SECRET, "\ufeff", "\t",
]  # fmt: skip


def texts(pieces: list[str]) -> st.SearchStrategy[bytes]:
    built = st.lists(st.sampled_from(pieces) | st.characters(), max_size=60).map("".join)
    return st.one_of(st.binary(max_size=300), built.map(lambda t: t.encode("utf-8", "replace")))


def deep(open_: str, close: str, prefix: str) -> st.SearchStrategy[bytes]:
    return st.integers(0, 5000).map(lambda n: (prefix + open_ * n + close * n).encode())


def assignments(pieces: list[str], template: str) -> st.SearchStrategy[bytes]:
    """Well-formed ``key<sep>value`` lines whose values are hostile pieces."""
    keys = st.sampled_from(["a", "b", "flag", "items", "mapping", "nested", "nested.port"])
    values = st.lists(st.sampled_from(pieces), min_size=1, max_size=4).map("".join)
    line = st.tuples(keys, values).map(lambda kv: template.format(*kv))
    return st.lists(line, max_size=6).map(lambda lines: "\n".join(lines).encode())


YAML_VALUES = [*YAML_PIECES, "9" * 5000, "[1, 2]", "{x: 1}", "&a [1]", "*a", "!!int x", "yes"]
JSON_VALUES = ["NaN", "Infinity", "9" * 5000, "1e999", "[[[]]]", '{"x": 1}', '"s"', "true"]
TOML_VALUES = ["9" * 5000, "1e999", "inf", "nan", "[1, 2]", "{x = 1}", '"s"', "true", "0x1F"]
STRUCTURED: dict[Format, st.SearchStrategy[bytes]] = {
    "yaml": texts(YAML_PIECES)
    | assignments(YAML_VALUES, "{}: {}")
    | deep("[", "]", "a: ")
    | deep("{a: ", "}", "a: "),
    "json": texts(JSON_PIECES)
    | assignments(JSON_VALUES, '"{}": {}').map(lambda b: b"{" + b.replace(b"\n", b",") + b"}")
    | deep("[", "]", '{"a": ').map(lambda b: b + b"}"),
    "toml": texts(TOML_PIECES)
    | assignments(TOML_VALUES, "{} = {}")
    | deep("[", "]", "a = ")
    | deep("{a = ", "}", "b = "),
}
LOCATION = re.compile(r"^c\.x:(\d+)$")


def lines_of(data: bytes) -> int:
    return data.count(b"\n") + data.count(b"\r") + data.count("\x85".encode()) + 2


def check_problems(exc: ConfigError, data: bytes) -> None:
    assert exc.problems
    for problem in exc.problems:
        match = LOCATION.match(problem.location)
        assert match, problem
        assert 1 <= int(match.group(1)) <= lines_of(data), problem
        assert problem.source == "file"
    assert str(exc) and exc.json()


@fuzz(3000)
@given(fmt=st.sampled_from(["yaml", "json", "toml"]), data=st.data())
def test_structured_files_parse_or_raise_one_located_config_error(
    fmt: Format, data: st.DataObject
) -> None:
    raw = data.draw(STRUCTURED[fmt])
    try:
        tree = parse_structured(raw, "c.x", fmt)
    except ConfigError as exc:
        check_problems(exc, raw)
    else:
        assert isinstance(tree, dict)


@fuzz(3000)
@given(raw=texts(ENV_PIECES))
def test_env_files_parse_or_raise_without_showing_a_line(raw: bytes) -> None:
    try:
        entries = parse_env_text(raw, "c.x")
    except ConfigError as exc:
        check_problems(exc, raw)
        assert SECRET not in str(exc)
        assert SECRET not in exc.json()
    else:
        assert all(isinstance(e.value, str) for e in entries)


class Nested(BaseModel):
    port: int = 1
    password: SecretStr | None = None


class Fuzzed(envconf.Settings):
    model_config = envconf.SettingsConfigDict(
        env_prefix="APP_", env_nested_delimiter="__", secrets_dir=None
    )
    a: str = ""
    b: int = 0
    flag: bool = False
    items: list[int] = Field(default_factory=list)
    mapping: dict[str, Any] = Field(default_factory=dict)
    nested: Nested = Nested()


FOLDER = Path(tempfile.mkdtemp(prefix="envconf-fuzz-"))
SUFFIX = {"yaml": ".yaml", "json": ".json", "toml": ".toml", "env": ".env"}


@fuzz(1500)
@given(fmt=st.sampled_from(["yaml", "json", "toml", "env"]), data=st.data())
def test_the_loader_returns_settings_or_raises_one_config_error(
    fmt: str, data: st.DataObject
) -> None:
    raw = data.draw(STRUCTURED[fmt] if fmt != "env" else texts(ENV_PIECES))  # type: ignore[index]
    path = FOLDER / f"c{SUFFIX[fmt]}"
    path.write_bytes(raw)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            settings = Fuzzed.load(env={"APP_CONFIG": str(path), "APP_A": "$(id)"})
    except ConfigError as exc:
        assert exc.problems and str(exc)
    else:
        assert isinstance(settings, Fuzzed)
