"""The ``cli`` layer: flags generated from the model, parsed without exiting the process."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from pydantic import BaseModel, Field, SecretStr

import envconf
from envconf.load.sources.argv import ArgvError, render_help


class Database(BaseModel):
    host: str = "localhost"
    port: int = 5432
    password: SecretStr | None = None


class Cli(envconf.Settings):
    model_config = envconf.SettingsConfigDict(
        env_prefix="CLI_", env_nested_delimiter="__", secrets_dir=None, cli_prog_name="myapp"
    )

    max_conns: int = Field(default=10, description="Most connections at once")
    debug: bool = False
    verbose: bool | None = None
    tags: list[str] = Field(default_factory=list)
    ports: list[int] = Field(default_factory=list)
    labels: dict[str, Any] = Field(default_factory=dict)
    token: SecretStr | None = None
    db: Database = Database()


def load(*argv: str) -> Cli:
    return Cli.load(argv=list(argv), env={})


def where(settings: Cli, key: str) -> str:
    return envconf.explain(settings)[key].location


def problem(*argv: str) -> envconf.Problem:
    with pytest.raises(envconf.ConfigError) as exc:
        load(*argv)
    [found] = exc.value.problems
    return found


def test_flag_with_separate_value() -> None:
    settings = load("--max-conns", "3")
    assert settings.max_conns == 3
    assert envconf.explain(settings)["max_conns"].source == "cli"


def test_flag_with_equals_value() -> None:
    assert load("--max-conns=3").max_conns == 3


def test_nested_flag_is_dotted() -> None:
    settings = load("--db.port", "6000", "--db.host=db")
    assert (settings.db.port, settings.db.host) == (6000, "db")
    assert where(settings, "db.port") == "--db.port"


@pytest.mark.parametrize("flag", ["--max-conns", "--max_conns"])
def test_dashes_and_underscores_are_the_same_flag(flag: str) -> None:
    settings = load(flag, "4")
    assert settings.max_conns == 4
    assert where(settings, "max_conns") == flag


def test_a_value_may_start_with_a_single_dash() -> None:
    assert load("--db.port", "-5").db.port == -5


def test_the_last_of_repeated_scalar_flags_wins() -> None:
    assert load("--max-conns", "1", "--max-conns", "2").max_conns == 2


@pytest.mark.parametrize(
    ("argv", "value"),
    [
        ((), False),
        (("--debug",), True),
        (("--debug", "--no-debug"), False),
        (("--debug=no",), False),
    ],
)
def test_boolean_flags(argv: tuple[str, ...], value: bool) -> None:
    assert load(*argv).debug is value


def test_optional_boolean_has_a_negative_flag_too() -> None:
    assert load("--no-verbose").verbose is False


def test_negative_flag_takes_no_value() -> None:
    found = problem("--no-debug=1")
    assert found.message == "--no-debug takes no value"


def test_lists_are_repeated_or_json() -> None:
    assert load("--tags", "a", "--tags=b").tags == ["a", "b"]
    assert load("--ports", "[1, 2]", "--ports", "3").ports == [1, 2, 3]


def test_bad_json_list_is_an_error() -> None:
    assert problem("--ports", "[1,").message == "expected a JSON list"


def test_dicts_and_models_are_json() -> None:
    settings = load("--labels", '{"a": {"b": 1}}', "--db", '{"port": 7}', "--db.host", "h")
    assert settings.labels == {"a": {"b": 1}}
    assert (settings.db.port, settings.db.host) == (7, "h")
    assert where(settings, "db.port") == "--db"


def test_bad_json_for_a_dict_is_an_error_naming_the_flag() -> None:
    found = problem("--labels", "{nope")
    assert (found.key, found.location, found.message) == (
        "labels",
        "--labels",
        "expected a JSON value",
    )


def test_unknown_flag_is_an_error_with_the_closest_match() -> None:
    found = problem("--db.prot", "1")
    assert found.message == "unknown option --db.prot (did you mean --db.port?)"


def test_unknown_flag_message_never_echoes_its_value() -> None:
    found = problem("--tokn=hunter2")
    assert "hunter2" not in str(found)


def test_missing_value_is_an_error() -> None:
    assert problem("--max-conns").message == "option --max-conns needs a value"
    assert problem("--max-conns", "--debug").message == "option --max-conns needs a value"


def test_stray_positional_is_an_error() -> None:
    found = problem("--debug", "extra")
    assert "unexpected argument 'extra'" in found.message


def test_argv_errors_are_usage_errors() -> None:
    with pytest.raises(ArgvError) as exc:
        load("--nope")
    assert isinstance(exc.value, envconf.ConfigError)
    assert exc.value.exit_code == 2


def test_config_flag_is_not_a_setting(tmp_path: Any) -> None:
    with pytest.raises(envconf.ConfigError, match="config file not found"):
        load("--config", str(tmp_path / "missing.yaml"))


def test_help_shows_type_default_and_env_var_for_each_key(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exc:
        load("-h")
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: myapp ")
    assert "--max-conns MAX_CONNS\n      Most connections at once\n" in out
    assert "[int, default 10, env CLI_MAX_CONNS]" in out
    assert "--debug/--no-debug" in out
    assert "[list[str], default [], env CLI_TAGS, repeatable or JSON]" in out
    assert "[int, default 5432, env CLI_DB__PORT]" in out
    for leaf in ("max-conns", "debug", "tags", "ports", "labels", "token", "db.host", "db.port"):
        assert f"--{leaf}" in out


def test_help_says_required_not_default_required(capsys: pytest.CaptureFixture[str]) -> None:
    class Needs(envconf.Settings):
        model_config = envconf.SettingsConfigDict(env_prefix="N_", secrets_dir=None)
        name: str

    with pytest.raises(SystemExit):
        Needs.load(argv=["--help"], env={})
    out = capsys.readouterr().out
    assert "[str, required, env N_NAME]" in out and "default (required)" not in out


def test_help_never_shows_a_secret_default() -> None:
    class WithDefault(envconf.Settings):
        model_config = envconf.SettingsConfigDict(env_prefix="W_", secrets_dir=None)
        token: SecretStr = SecretStr("hunter2")

    from envconf.load.classinfo import class_info as class_state

    text = render_help(class_state(WithDefault).spec, "w")
    assert "hunter2" not in text
    assert "default (secret)" in text


def test_a_secret_flag_warns() -> None:
    with pytest.warns(envconf.SecretOnCommandLineWarning, match="--token"):
        settings = load("--token", "hunter2")
    assert settings.token is not None and settings.token.get_secret_value() == "hunter2"


def test_a_plain_flag_does_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load("--max-conns", "2")
