"""The redaction boundary: known secrets and URL passwords, hidden before any cut."""

from __future__ import annotations

import pytest

from envconf.errors import ConfigError, Problem, RenderError
from envconf.redact import MASK, Redactor, mask_url_passwords, shorten


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgres://app:s3cret@db:5432/app", "postgres://app:***@db:5432/app"),
        ("redis://:pw@cache", "redis://:***@cache"),
        ("amqp://u:p@ss/w@rd@mq/vhost", "amqp://u:***@mq/vhost"),
        ("dsn=mysql+pymysql://u:x@h/db, other", "dsn=mysql+pymysql://u:***@h/db, other"),
        ("http://user:pa@ss-Hunter2@127.0.0.1:9/", "http://user:***@127.0.0.1:9/"),
        ("http://user:pa/ss@127.0.0.1:9/x", "http://user:***@127.0.0.1:9/x"),
        ("http://host/path", "http://host/path"),
        ("user@host", "user@host"),
        ("a://u:1@h b://v:2@k", "a://u:***@h b://v:***@k"),
    ],
)
def test_url_passwords_are_masked_to_the_last_at_sign(text: str, expected: str) -> None:
    assert mask_url_passwords(text) == expected


def test_a_known_secret_is_masked_as_written_and_as_repr_escapes_it() -> None:
    redact = Redactor(["s3cr\tet-value", "ab"])  # "ab" is too short to tell from words
    assert redact("got 's3cr\\tet-value' and s3cr\tet-value") == f"got '{MASK}' and {MASK}"
    assert redact("a b ab") == "a b ab"


def test_each_line_of_a_multiline_secret_is_masked() -> None:
    key = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----"
    assert "MIIEvQ" not in Redactor([key])("line 2: MIIEvQIBADANBgkqhkiG9w0BAQEFAASC")


def test_long_secrets_are_masked_before_the_value_is_shortened() -> None:
    token = "T" * 120
    error = ConfigError([Problem("workers", "bad", "env", "APP_WORKERS", token)], Redactor([token]))
    assert "TTTT" not in str(error)
    assert error.problems[0].value == MASK
    assert shorten("x" * 100) == "x" * 77 + "..."


def test_render_errors_pass_the_same_boundary() -> None:
    error = RenderError(
        [Problem("", "VAR: value hunter2-hunter2 refused", "", "t.j2:1")],
        Redactor(["hunter2-hunter2"]),
    )
    assert "hunter2" not in str(error)
    assert str(error.problems[0]) == f"t.j2:1: VAR: value {MASK} refused"


def test_control_characters_in_names_cannot_forge_a_log_line() -> None:
    problem = Problem("", "cannot read template", "", "a\nenvconf: rendered 1 file(s)\x1b[2J")
    assert "\n" not in str(problem) and "\x1b" not in str(problem)
    assert "a\\nenvconf" in str(problem)
