"""``envconf render``'s options: flags over ``ENVCONF_*`` variables, checked and typed."""

from __future__ import annotations

import re
import signal

import pytest

from envconf.errors import UsageError
from envconf.render.options import parse_options, parse_signal, split_command


def test_flags_win_over_envconf_variables_and_repeatables_accumulate() -> None:
    env = {"ENVCONF_OUTPUT_DIR": "/env", "ENVCONF_TEMPLATE": "a.j2, b.j2", "ENVCONF_STRICT": "yes"}
    options = parse_options(["--output-dir", "/flag", "-t", "c.j2", "--template=d.j2"], env)
    assert options.output_dir == "/flag"
    assert options.template == ["c.j2", "d.j2"]  # the flags replace the variable's list
    assert options.strict is True
    assert parse_options([], env).template == ["a.j2", "b.j2"]


def test_the_command_starts_after_a_double_dash_or_the_first_bare_word() -> None:
    assert parse_options(["--check", "--", "app", "--port", "1"], {}).command == [
        "app",
        "--port",
        "1",
    ]
    assert parse_options(["app", "-x"], {}).command == ["app", "-x"]
    assert parse_options([], {}).command == []


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["--nope"], {}, "unknown option --nope"),
        (["--templte", "a.j2"], {}, "(did you mean --template?)"),
        (["--output-dir"], {}, "option --output-dir needs a value"),
        (["--engine", "m4"], {}, "--engine must be jinja or envsubst"),
        (["--filter", "("], {}, "is not a valid regex"),
        (["--mode", "rw"], {}, "is not an octal mode"),
        (["--mode", "17777"], {}, "out of range"),
        ([], {"ENVCONF_CHECK": "maybe"}, "ENVCONF_CHECK must be true or false"),
        (["--template-dir", "t"], {}, "--template-dir needs --output-dir"),
        (["--reload-signal", "HUP"], {}, "--reload-signal / ENVCONF_RELOAD_SIGNAL needs --watch"),
        (["--watch"], {}, "--watch needs a COMMAND after --"),
        (["--init", "--check", "--", "app"], {}, "--init cannot be combined with --check"),
    ],
)
def test_every_bad_option_is_a_usage_error_naming_it(
    argv: list[str], env: dict[str, str], message: str
) -> None:
    with pytest.raises(UsageError, match=re.escape(message)) as info:
        parse_options(argv, env)
    assert info.value.exit_code == 2


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "-inf", "1e300", "abc", "86401"])
def test_a_timeout_must_be_a_finite_number_of_seconds(value: str) -> None:
    with pytest.raises(UsageError, match="must be a number of seconds from 0 to 86400"):
        parse_options(["--timeout", value], {})
    with pytest.raises(UsageError, match="ENVCONF_TIMEOUT"):
        parse_options([], {"ENVCONF_TIMEOUT": value})


def test_a_valid_timeout_and_poll_interval_are_numbers() -> None:
    options = parse_options(
        ["--timeout", "2.5", "--watch", "--poll-interval", "0.5", "--", "app"], {}
    )
    assert (options.timeout, options.poll_interval) == (2.5, 0.5)


@pytest.mark.parametrize(
    ("text", "number"),
    [("HUP", signal.SIGHUP), ("SIGUSR1", signal.SIGUSR1), ("usr2", signal.SIGUSR2), ("15", 15)],
)
def test_parse_signal(text: str, number: int) -> None:
    assert parse_signal(text) == number


@pytest.mark.parametrize("text", ["", "NOPE", "SIG", "999", "HUP;"])
def test_parse_signal_refuses_what_is_not_a_signal(text: str) -> None:
    with pytest.raises(UsageError):
        parse_signal(text)


def test_split_command_splits_like_a_shell_without_running_one() -> None:
    assert split_command("nginx -s 'reload now'") == ["nginx", "-s", "reload now"]
    with pytest.raises(UsageError):
        split_command("'unbalanced")
