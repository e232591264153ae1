"""``envconf diff``'s comparison and reports (:mod:`envconf.tools.diff`) and its sides
(:mod:`envconf.tools.sides`)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

import envconf
from envconf.errors import ConfigError, UsageError
from envconf.redact import MASK
from envconf.tools.diff import (
    DIFFERS,
    LEFT_ONLY,
    RIGHT_ONLY,
    SAME,
    Diff,
    Side,
    compare,
    diff_data,
    diff_json,
    diff_markdown,
    diff_text,
    fingerprint,
    new_key,
)
from envconf.tools.sides import SideError, SideSpec, labels, load_sides, side_specs


class Database(BaseModel):
    host: str = "localhost"
    port: int = 5432
    password: SecretStr | None = None


class App(envconf.Settings):
    model_config = envconf.SettingsConfigDict(
        env_prefix="APP_",
        env_nested_delimiter="__",
        config_files=["app.yaml"],
        secrets_dir="secrets",
    )

    workers: int = 1
    name: str = "app"
    db: Database = Database()


class Loose(envconf.Settings):
    model_config = envconf.SettingsConfigDict(
        env_prefix="LOOSE_", extra="allow", config_files=["loose.yaml"], secrets_dir=None
    )

    workers: int = 1


def side(label: str, env: dict[str, str], cls: type[envconf.Settings] = App) -> Side:
    return Side(label, f"--env-file {label}.env", cls.load(env=env))


def squeezed(text: str) -> str:
    """``text`` with runs of spaces made one (table columns are padded)."""
    return re.sub(r" +", " ", text)


def outputs(diff: Diff) -> list[str]:
    """Every report of a diff, in every format, with and without the keys that are the same."""
    return [
        write(diff, show_all)
        for write in (diff_text, diff_json, diff_markdown)
        for show_all in (False, True)
    ]


# --- comparing -----------------------------------------------------------------------------


def test_two_equal_sides_are_equal(workdir: Path) -> None:
    diff = compare(side("a", {"APP_WORKERS": "2"}), side("b", {"APP_WORKERS": "2"}))
    assert diff.equal
    assert diff.differing == ()
    assert {k.status for k in diff.keys} == {SAME}
    assert diff_text(diff).endswith("no differences (5 keys compared).\n")
    assert diff_data(diff)["keys"] == []  # only differences unless asked for all
    assert len(diff_data(diff, show_all=True)["keys"]) == 5


def test_a_differing_value_is_shown_with_both_values_and_origins(workdir: Path) -> None:
    (workdir / "app.yaml").write_text("workers: 3\n")
    diff = compare(side("staging", {}), side("production", {"APP_WORKERS": "8"}))
    assert not diff.equal
    [workers] = diff.differing
    assert (workers.key, workers.status, workers.secret) == ("workers", DIFFERS, False)
    assert workers.left is not None and workers.right is not None
    assert (workers.left.value, workers.right.value) == (3, 8)
    assert (workers.left.origin.source, workers.left.origin.location) == ("file", "app.yaml:1")
    assert (workers.right.origin.source, workers.right.origin.location) == ("env", "APP_WORKERS")

    text = squeezed(diff_text(diff))
    assert "KEY STATUS staging production\nworkers differs 3 8\n" in text
    assert "\n app.yaml:1 (file) APP_WORKERS (env)\n" in text
    assert text.endswith("1 of 5 keys differ.\n")

    doc = json.loads(diff_json(diff))
    assert doc["equal"] is False and (doc["compared"], doc["differing"]) == (5, 1)
    assert doc["left"]["label"] == "staging" and doc["right"]["selected_by"] == (
        "--env-file production.env"
    )
    assert doc["keys"] == [
        {
            "key": "workers",
            "status": "differs",
            "secret": False,
            "left": {
                "value": 3,
                "source": "file",
                "location": "app.yaml:1",
                "overridden": [{"source": "default", "location": "default"}],
            },
            "right": {
                "value": 8,
                "source": "env",
                "location": "APP_WORKERS",
                "overridden": [
                    {"source": "file", "location": "app.yaml:1"},
                    {"source": "default", "location": "default"},
                ],
            },
        }
    ]

    markdown = diff_markdown(diff)
    assert "| key | status | staging | production |" in markdown
    assert (
        "| `workers` | differs | `3`<br>`app.yaml:1` (file) | `8`<br>`APP_WORKERS` (env) |"
        in markdown
    )


def test_show_all_lists_the_keys_that_are_the_same_too(workdir: Path) -> None:
    diff = compare(side("a", {"APP_WORKERS": "2"}), side("b", {}))
    assert "db.host" not in diff_text(diff)
    text = squeezed(diff_text(diff, show_all=True))
    assert 'db.host same "localhost" "localhost"\n default default\n' in text


def test_a_key_on_one_side_only(workdir: Path) -> None:
    (workdir / "loose.yaml").write_text("region: eu\n")
    left = Side("a", "a", Loose.load(env={}))
    (workdir / "loose.yaml").write_text("zone: b\n")
    right = Side("b", "b", Loose.load(env={}))
    diff = compare(left, right)
    statuses = {k.key: (k.status, k.left, k.right) for k in diff.keys}
    assert statuses["workers"][0] == SAME
    status, a, b = statuses["region"]
    assert status == LEFT_ONLY and b is None and a is not None and a.value == "eu"
    assert str(a.origin) == "loose.yaml:1 (file)"
    assert statuses["zone"][0] == RIGHT_ONLY and statuses["zone"][1] is None
    assert "(absent)" in diff_text(diff)
    assert "*(absent)*" in diff_markdown(diff)
    doc = diff_data(diff)
    first = doc["keys"][0]
    assert (first["key"], first["status"], first["right"]) == ("region", "left only", None)


def test_column_headings_fall_back_to_left_and_right() -> None:
    assert labels(SideSpec(profile="a"), SideSpec(profile="a")) == ("", "")
    assert labels(SideSpec(profile=""), SideSpec(profile="prod")) == ("no profile", "prod")
    assert labels(SideSpec("s", "x.env"), SideSpec("p", "y.env")) == ("s + x.env", "p + y.env")


def test_the_same_label_on_both_sides_is_headed_left_and_right(workdir: Path) -> None:
    diff = compare(side("", {"APP_WORKERS": "2"}), side("", {}))
    assert "KEY STATUS left right" in squeezed(diff_text(diff))


# --- secrets -------------------------------------------------------------------------------

PASSWORDS = ("hunter2-staging", "hunter2-production")


def _secret_sides(workdir: Path, left: str, right: str) -> tuple[Side, Side]:
    (workdir / "secrets").mkdir(exist_ok=True)
    (workdir / "secrets" / "db__password").write_text(right + "\n")
    return side("staging", {"APP_DB__PASSWORD": left}), side("production", {})


def test_differing_secrets_differ_and_never_appear_in_any_format(workdir: Path) -> None:
    diff = compare(*_secret_sides(workdir, *PASSWORDS))
    [password] = diff.differing
    assert (password.key, password.status, password.secret) == ("db.password", DIFFERS, True)
    for text in outputs(diff):
        assert MASK in text
        for secret in PASSWORDS:
            assert secret not in text
        assert password.left is not None and password.left.fingerprint.hex() not in text
    assert "/db__password (secret)" in diff_text(diff)  # the origin is still shown


def test_equal_secrets_are_the_same_and_still_hidden(workdir: Path) -> None:
    diff = compare(*_secret_sides(workdir, PASSWORDS[0], PASSWORDS[0]))
    assert diff.equal
    for text in outputs(diff):
        assert PASSWORDS[0] not in text
    [row] = [k for k in diff.keys if k.key == "db.password"]
    assert row.status == SAME and row.left is not None and row.left.value == MASK


def test_a_value_secret_on_one_side_only_is_hidden_on_both(workdir: Path) -> None:
    # ``name`` is a plain str; on the right it is read from a file, which makes it secret.
    (workdir / "name.txt").write_text("classified-name\n")
    left = side("a", {"APP_NAME": "classified-name"})
    right = side("b", {"APP_NAME_FILE": "name.txt"})
    diff = compare(left, right)
    [row] = [k for k in diff.keys if k.key == "name"]
    assert row.secret and row.status == SAME
    assert row.left is not None and row.left.value == MASK
    for text in outputs(compare(left, side("c", {"APP_NAME_FILE": "name.txt"}))):
        assert "classified-name" not in text
    for text in outputs(diff):
        assert "classified-name" not in text


def test_a_secret_copied_into_a_plain_field_is_redacted(workdir: Path) -> None:
    env = {"APP_DB__PASSWORD": PASSWORDS[0], "APP_DB__HOST": f"{PASSWORDS[0]}.example"}
    diff = compare(side("a", env), side("b", {}))
    for text in outputs(diff):
        assert PASSWORDS[0] not in text


def test_fingerprints_are_keyed_per_run() -> None:
    key = new_key()
    assert fingerprint(SecretStr("pw"), key) == fingerprint(SecretStr("pw"), key)
    assert fingerprint(SecretStr("pw"), key) != fingerprint(SecretStr("pw2"), key)
    assert fingerprint(SecretStr("pw"), key) != fingerprint(SecretStr("pw"), new_key())
    # a secret's text is compared, not its mask; a str and a secret are not the same value
    assert fingerprint(SecretStr("a"), key) != fingerprint(SecretStr("b"), key)
    assert fingerprint(SecretStr("a"), key) != fingerprint("a", key)
    # nested secrets count too (a model or mapping holding SecretStr)
    one: dict[str, Any] = {"x": SecretStr("1")}
    assert fingerprint(one, key) != fingerprint({"x": SecretStr("2")}, key)
    assert fingerprint(Database(password=SecretStr("1")), key) != fingerprint(
        Database(password=SecretStr("2")), key
    )


def test_a_given_key_makes_the_comparison_repeatable(workdir: Path) -> None:
    left, right = _secret_sides(workdir, *PASSWORDS)
    key = b"k" * 32
    assert compare(left, right, key).keys == compare(left, right, key).keys


# --- the two sides --------------------------------------------------------------------------


def test_an_option_given_twice_names_left_and_right_and_once_both() -> None:
    left, right = side_specs(["staging", "production"], [], ["base.yaml"])
    assert left == SideSpec("staging", None, ("base.yaml",))
    assert right == SideSpec("production", None, ("base.yaml",))
    left, right = side_specs([], [], ["a.yaml, b.yaml", "c.yaml"])
    assert (left.config, right.config) == (("a.yaml", "b.yaml"), ("c.yaml",))


@pytest.mark.parametrize(
    ("profiles", "configs", "message"),
    [
        ([], [], "name the two sides"),
        (["a"], ["x.yaml"], "name the two sides"),
        (["a", "b", "c"], [], "--profile given 3 times"),
    ],
)
def test_sides_that_cannot_be_paired_are_a_usage_error(
    profiles: list[str], configs: list[str], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        side_specs(profiles, [], configs)


def test_each_side_loads_in_isolation(workdir: Path) -> None:
    (workdir / "a.env").write_text("APP_WORKERS=2\nAPP_DB__HOST=db.a\n")
    (workdir / "b.env").write_text("APP_WORKERS=3\n")
    environ = {"APP_NAME": "shared"}
    specs = side_specs([], ["a.env", "b.env"], [])
    (left, right), warned = load_sides(App, specs, [], environ)
    assert warned == []
    assert (left.settings.workers, right.settings.workers) == (2, 3)
    assert right.settings.db.host == "localhost"  # a.env's variable did not reach the right side
    assert left.settings.name == right.settings.name == "shared"
    assert environ == {"APP_NAME": "shared"}
    assert left.env_file == {"APP_WORKERS": "a.env:1", "APP_DB__HOST": "a.env:2"}
    diff = compare(left, right)
    assert "APP_WORKERS (env) from a.env:1" in diff_text(diff)
    assert json.loads(diff_json(diff))["keys"][0]["left"]["env_file"] == "a.env:1"


def test_profiles_and_config_sets(workdir: Path) -> None:
    (workdir / "app.yaml").write_text("workers: 1\n")
    (workdir / "app.production.yaml").write_text("workers: 9\n")
    (workdir / "other.yaml").write_text("name: other\n")
    environ = {"APP_PROFILE": "ignored"}  # --profile wins over the environment's profile
    (left, right), _ = load_sides(App, side_specs(["", "production"], [], []), [], environ)
    assert (left.settings.workers, right.settings.workers) == (1, 9)
    assert left.label == "no profile" and right.description == "--profile production"
    specs = side_specs([], [], ["app.yaml", "app.yaml,other.yaml"])
    # --config replaces the environment's file list, as the app's own --config does
    (left, right), _ = load_sides(App, specs, [], {"APP_CONFIG": "absent.yaml"})
    assert (left.settings.name, right.settings.name) == ("app", "other")
    assert right.label == "app.yaml,other.yaml"
    # --config '' is a side with no config file at all
    (left, right), _ = load_sides(App, side_specs([], [], ["", "other.yaml"]), [], {})
    assert (left.settings.name, right.settings.name) == ("app", "other")
    assert left.label == "no config files"


def test_a_side_that_fails_is_named_with_every_problem(workdir: Path) -> None:
    (workdir / "bad.env").write_text(f"APP_WORKERS=many\nAPP_DB__PASSWORD={PASSWORDS[0]}\n")
    specs = side_specs([], ["bad.env", "absent.env"], [])
    with pytest.raises(SideError) as caught:
        load_sides(App, specs, [], {})
    message = str(caught.value)
    assert message.startswith("left (--env-file bad.env): cannot be loaded: 1 configuration")
    assert "workers: APP_WORKERS='many' (env)" in message
    assert "right (--env-file absent.env): cannot be loaded" in message
    assert "absent.env (env file): no such file" in message
    assert PASSWORDS[0] not in message
    assert isinstance(caught.value, ConfigError) and len(caught.value.problems) == 2


def test_an_app_argument_applies_to_both_sides(workdir: Path) -> None:
    specs = side_specs(["a", "b"], [], [])
    (left, right), _ = load_sides(App, specs, ["--workers", "5"], {})
    assert left.settings.workers == right.settings.workers == 5
