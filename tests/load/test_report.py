"""``envconf.explain`` and the ``envconf explain`` report (table and JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field, SecretStr

import envconf
from envconf.load.report import MASK, explain_data, explain_table


class Database(BaseModel):
    host: str = "localhost"
    port: int = 5432
    password: SecretStr | None = None


class Explained(envconf.Settings):
    model_config = envconf.SettingsConfigDict(
        env_prefix="APP_",
        env_nested_delimiter="__",
        config_files=["app.yaml", "absent.yaml"],
        secrets_dir="secrets",
    )

    workers: int = 1
    tags: list[str] = Field(default_factory=list)
    labels: dict[str, Any] = Field(default_factory=dict)
    db: Database = Database()


@pytest.fixture
def loaded(env: dict[str, str], workdir: Path) -> Explained:
    (workdir / "app.yaml").write_text("workers: 2\ndb:\n  host: db.internal\n")
    (workdir / "secrets").mkdir()
    (workdir / "secrets" / "db__password").write_text("s3cret\n")
    env["APP_WORKERS"] = "3"
    return Explained.load(argv=["--workers", "4"], env=env)


def test_explain_has_every_leaf_key(loaded: Explained) -> None:
    assert list(envconf.explain(loaded)) == [
        "workers",
        "tags",
        "labels",
        "db.host",
        "db.port",
        "db.password",
    ]


def test_origin_fields(loaded: Explained) -> None:
    origins = envconf.explain(loaded)
    workers = origins["workers"]
    assert (workers.source, workers.location) == ("cli", "--workers")
    assert workers.overridden == (
        envconf.Origin("env", "APP_WORKERS"),
        envconf.Origin("file", "app.yaml:1"),
        envconf.Origin("default", "default"),
    )
    assert origins["db.host"] == envconf.Origin(
        "file", "app.yaml:3", (envconf.Origin("default", "default"),)
    )
    assert origins["db.password"].location == "secrets/db__password"
    assert origins["db.port"] == envconf.Origin("default", "default")


def test_str_of_an_origin_is_one_readable_line(loaded: Explained) -> None:
    origins = envconf.explain(loaded)
    text = str(origins["workers"])
    assert text == ("--workers (cli), overriding APP_WORKERS (env), app.yaml:1 (file), default")
    assert str(origins["db.port"]) == "default"
    assert all("\n" not in str(o) for o in origins.values())


def test_explain_returns_a_copy(loaded: Explained) -> None:
    envconf.explain(loaded).clear()
    assert envconf.explain(loaded)


def test_explain_needs_settings_loaded_by_envconf() -> None:
    with pytest.raises(TypeError, match="not loaded by envconf"):
        envconf.explain(Explained.model_construct())


def test_json_document_shape(loaded: Explained) -> None:
    doc = json.loads(json.dumps(explain_data(loaded)))
    assert list(doc) == ["precedence", "files", "keys"]
    assert doc["precedence"] == ["init", "cli", "env", "dotenv", "secret", "file", "default"]
    assert doc["files"] == [
        {"path": "app.yaml", "loaded": True},
        {"path": "absent.yaml", "loaded": False, "note": "not found, skipped"},
    ]
    for item in doc["keys"]:
        assert list(item) == ["key", "value", "source", "location", "overridden"]
        for beaten in item["overridden"]:
            assert list(beaten) == ["source", "location"]
    by_key = {item["key"]: item for item in doc["keys"]}
    assert by_key["workers"] == {
        "key": "workers",
        "value": 4,
        "source": "cli",
        "location": "--workers",
        "overridden": [
            {"source": "env", "location": "APP_WORKERS"},
            {"source": "file", "location": "app.yaml:1"},
            {"source": "default", "location": "default"},
        ],
    }
    assert by_key["db.password"]["value"] == MASK
    assert by_key["tags"]["value"] == []


def test_json_precedence_follows_the_configuration(env: dict[str, str], workdir: Path) -> None:
    class Narrow(envconf.Settings):
        model_config = envconf.SettingsConfigDict(precedence=["env", "file"], secrets_dir=None)
        workers: int = 1

    assert explain_data(Narrow.load(env=env))["precedence"] == ["init", "env", "file", "default"]


def test_table_lists_precedence_files_and_every_key(loaded: Explained) -> None:
    table = explain_table(loaded)
    lines = table.splitlines()
    assert (
        lines[0]
        == "precedence (highest first): init > cli > env > dotenv > secret > file > default"
    )
    assert "  app.yaml  (loaded)" in lines
    assert "  absent.yaml  (not found, skipped)" in lines
    header = next(line for line in lines if line.startswith("KEY"))
    assert header.split() == ["KEY", "VALUE", "SOURCE", "LOCATION", "OVERRIDDEN"]
    for key in envconf.explain(loaded):
        assert any(line.startswith(key + " ") for line in lines)
    assert "s3cret" not in table
    assert MASK in table


def test_a_failed_load_carries_what_did_load_with_secrets_masked(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("file-canary-7731")

    class Failing(envconf.Settings):
        model_config = envconf.SettingsConfigDict(env_prefix="F_", secrets_dir=None)
        port: int = 1
        name: str = "n"
        token: str = "t"
        password: SecretStr
        needed: int
        dsn: str = "x"

    env = {
        "F_PORT": "nope",
        "F_TOKEN_FILE": str(token),
        "F_PASSWORD": "env-canary-5519",
        "F_DSN": "postgres://u:url-canary@db/x",
    }
    with pytest.raises(envconf.ConfigError) as caught:
        Failing.load(env=env)
    doc = caught.value.loaded
    assert doc is not None
    keys = {k["key"]: (k["value"], k["source"], k["location"]) for k in doc["keys"]}
    assert keys == {
        "port": ("nope", "env", "F_PORT"),
        "name": ("n", "default", "default"),
        "token": ("**********", "env", f"{token} (via F_TOKEN_FILE)"),  # a file: a secret
        "password": ("**********", "env", "F_PASSWORD"),
        "needed": (None, "(not set)", "(not set)"),
        "dsn": ("postgres://u:***@db/x", "env", "F_DSN"),
    }
    assert "canary" not in repr(doc)
