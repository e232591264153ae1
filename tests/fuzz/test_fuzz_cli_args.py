"""Fuzz the app's command-line parser: any argv gives a layer or one located ConfigError.

Never another exception, never ``SystemExit`` (only ``--help`` exits, and it is not
generated here), and never the text after ``=`` of an unknown or malformed option, which
may be a secret typed into the wrong flag.
"""

from __future__ import annotations

import warnings

from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field, SecretStr

import envconf
from envconf.errors import ConfigError
from envconf.load.classinfo import class_info as class_state
from envconf.load.sources.argv import flag_table, parse_argv

from .budget import fuzz

SECRET = "typed-s3cret"


class Inner(BaseModel):
    port: int = 1
    password: SecretStr | None = None


class Cli(envconf.Settings):
    model_config = envconf.SettingsConfigDict(env_prefix="APP_", secrets_dir=None)
    name: str = ""
    workers: int = 1
    debug: bool = False
    tags: list[str] = Field(default_factory=list)
    limits: dict[str, int] = Field(default_factory=dict)
    pair: tuple[int, str] = (1, "a")
    inner: Inner = Inner()


FLAGS = [
    "--name", "--workers", "--debug", "--no-debug", "--tags", "--limits", "--pair", "--inner",
    "--inner.port", "--inner.password", "--config", "--max_conns", "--inner-port", "--nope",
    "--", "-x", "--no-name", "--debug=true",
]  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(["", "1", "-1", "true", "[1, 2]", '{"a": 1}', "{", "[", "null", "9" * 5000,
                     '{"port": 2, "password": "p"}', "caf\udce9", SECRET, "--workers"]),
    st.text(max_size=30),
)  # fmt: skip
TOKENS = st.one_of(
    st.sampled_from(FLAGS),
    VALUES,
    st.tuples(st.sampled_from(FLAGS), VALUES).map(lambda p: f"{p[0]}={p[1]}"),
    st.tuples(st.text(min_size=1, max_size=10), st.just(SECRET)).map(lambda p: f"--{p[0]}={p[1]}"),
)
ARGV = st.lists(TOKENS, max_size=12).filter(lambda argv: not {"-h", "--help"} & set(argv))


# Flags of non-secret fields: a bad value given to one of them is shown, like any value.
SHOWN_FLAGS = {"--name", "--workers", "--debug", "--no-debug", "--tags", "--limits", "--pair",
               "--inner", "--inner.port"}  # fmt: skip


def may_show_secret(argv: list[str]) -> bool:
    """Whether the secret text was typed somewhere other than after ``=`` of a bad option.

    A stray argument, an option's own name or the value of a non-secret flag is shown as
    given; the value after ``=`` of an unknown option or of the password flag never is.
    """
    for token in argv:
        if SECRET not in token:
            continue
        name, eq, _ = token.partition("=")
        hidden = token.startswith("--") and eq and SECRET not in name
        if not hidden or name in SHOWN_FLAGS:
            return True
    return False


def check(exc: ConfigError, argv: list[str]) -> None:
    assert exc.problems and str(exc)
    for problem in exc.problems:
        assert problem.source in ("cli", "file") or problem.location, problem
    if not may_show_secret(argv):
        assert SECRET not in str(exc), str(exc)


@fuzz(4000)
@given(argv=ARGV)
def test_parse_argv_returns_a_layer_or_raises_one_config_error(argv: list[str]) -> None:
    state = class_state(Cli)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = parse_argv(list(argv), state.spec, flag_table(state.spec), "app")
    except ConfigError as exc:
        check(exc, argv)
    else:
        assert isinstance(result.tree, dict)


@fuzz(2000)
@given(argv=ARGV)
def test_load_with_any_argv_returns_settings_or_raises_one_config_error(argv: list[str]) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            settings = Cli.load(argv=argv, env={}, config_files=[])
    except ConfigError as exc:
        check(exc, argv)
    else:
        assert isinstance(settings, Cli)
