"""End-to-end tests of ``envconf diff`` run as a real subprocess."""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.e2e.test_cli_e2e import envconf

STAGING_PASSWORD = "canary-diff-staging-7a1c"
PRODUCTION_PASSWORD = "canary-diff-production-9e4b"

SETTINGS = """
from pydantic import BaseModel, SecretStr

import envconf


class Database(BaseModel):
    host: str = "localhost"
    port: int = 5432
    password: SecretStr | None = None


class Shop(envconf.Settings):
    model_config = envconf.SettingsConfigDict(
        env_prefix="SHOP_",
        env_nested_delimiter="__",
        config_files=["config/shop.yaml"],
        secrets_dir="secrets",
    )

    workers: int = 1
    log_level: str = "INFO"
    db: Database = Database()
"""

SIDES = ("--settings", "shop:Shop")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "shop.py").write_text(textwrap.dedent(SETTINGS))
    config = tmp_path / "config"
    config.mkdir()
    (config / "shop.yaml").write_text("workers: 2\ndb:\n  host: ${DB_HOST:-db.internal}\n")
    (config / "shop.staging.yaml").write_text("log_level: DEBUG\n")
    (config / "shop.production.yaml").write_text("workers: 8\nlog_level: WARNING\n")
    (config / "extra.yaml").write_text("workers: 4\n")
    (tmp_path / "staging.env").write_text(
        f"SHOP_PROFILE=staging\nSHOP_DB__PASSWORD={STAGING_PASSWORD}\n"
    )
    (tmp_path / "production.env").write_text(
        f"SHOP_PROFILE=production\nDB_HOST=db.prod\nSHOP_DB__PASSWORD={PRODUCTION_PASSWORD}\n"
    )
    (tmp_path / "same.env").write_text("SHOP_PROFILE=production\n")
    return tmp_path


def diff(
    project: Path, args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``envconf diff --settings shop:Shop ARGS`` (``args`` split on whitespace)."""
    return envconf(project, "diff", *SIDES, *args.split(), env=env)


def squeezed(text: str) -> str:
    return re.sub(r" +", " ", text)


def assert_secret_free(*texts: str) -> None:
    for text in texts:
        assert STAGING_PASSWORD not in text
        assert PRODUCTION_PASSWORD not in text


def test_profiles_that_differ_exit_1_with_both_values_and_origins(project: Path) -> None:
    result = diff(project, "--profile staging --profile production")
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""
    out = squeezed(result.stdout)
    assert "left: --profile staging (config files: config/shop.yaml, config/shop.staging" in out
    assert "KEY STATUS staging production\n" in out
    assert "workers differs 2 8\n config/shop.yaml:1 (file) config/shop.production.yaml:1" in out
    assert 'log_level differs "DEBUG" "WARNING"\n' in out
    assert "db.host" not in out  # the same on both sides: left out without --all
    assert out.endswith("2 of 5 keys differ.\n")


def test_the_same_profile_twice_exits_0(project: Path) -> None:
    result = diff(project, "--profile staging --profile staging")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.endswith("no differences (5 keys compared).\n")


def test_env_files_are_each_sides_environment(project: Path) -> None:
    result = diff(project, "--env-file staging.env --env-file production.env --all")
    assert result.returncode == 1, result.stderr
    out = squeezed(result.stdout)
    # the env file set the profile and fed ${DB_HOST} in the config file
    assert 'db.host differs "db.internal" "db.prod"' in out
    assert "db.password differs ********** **********" in out
    assert "SHOP_DB__PASSWORD (env) from staging.env:2" in out
    assert "db.port same 5432 5432" in out  # --all
    assert_secret_free(result.stdout, result.stderr)


def test_env_files_with_the_same_effect_exit_0(project: Path) -> None:
    (project / "same2.env").write_text(
        "# another file, the same settings\nSHOP_PROFILE=production\n"
    )
    result = diff(project, "--env-file same.env --env-file same2.env")
    assert (result.returncode, result.stderr) == (0, "")


def test_config_sets_of_several_files_per_side(project: Path) -> None:
    result = diff(project, "--config config/shop.yaml --config config/shop.yaml,config/extra.yaml")
    assert result.returncode == 1, result.stderr
    out = squeezed(result.stdout)
    assert "KEY STATUS config/shop.yaml config/shop.yaml,config/extra.yaml\n" in out
    assert "workers differs 2 4\n config/shop.yaml:1 (file) config/extra.yaml:1 (file)" in out


def test_the_process_environment_is_shared_and_settings_default_to_envconf_settings(
    project: Path,
) -> None:
    env = {"ENVCONF_SETTINGS": "shop:Shop", "SHOP_WORKERS": "3"}
    result = envconf(project, "diff", "--profile", "staging", "--profile", "production", env=env)
    assert result.returncode == 1, result.stderr
    out = squeezed(result.stdout)
    assert "workers" not in out  # SHOP_WORKERS wins on both sides
    assert 'log_level differs "DEBUG" "WARNING"' in out


def test_json_is_one_stable_document(project: Path) -> None:
    result = diff(project, "--env-file staging.env --env-file production.env --format json")
    assert result.returncode == 1, result.stderr
    doc = json.loads(result.stdout)
    assert set(doc) == {"equal", "compared", "differing", "left", "right", "keys"}
    assert (doc["equal"], doc["compared"], doc["differing"]) == (False, 5, 4)
    assert doc["left"]["selected_by"] == "--env-file staging.env"
    assert doc["right"]["files"] == [
        {"path": "config/shop.yaml", "loaded": True},
        {"path": "config/shop.production.yaml", "loaded": True},
    ]
    by_key = {k["key"]: k for k in doc["keys"]}
    assert set(by_key) == {"workers", "log_level", "db.host", "db.password"}
    password = by_key["db.password"]
    assert (password["status"], password["secret"]) == ("differs", True)
    assert password["left"]["value"] == password["right"]["value"] == "**********"
    assert password["left"]["env_file"] == "staging.env:2"
    assert set(password["left"]) == {"value", "source", "location", "overridden", "env_file"}
    assert_secret_free(result.stdout, result.stderr)


def test_markdown_for_a_pull_request_comment(project: Path) -> None:
    result = diff(
        project, "--profile staging --profile production --env-file staging.env --format markdown"
    )
    assert result.returncode == 1, result.stderr
    out = result.stdout
    assert out.startswith("### envconf diff: `staging` and `production`\n\n**2 of 5 keys differ.**")
    assert "| key | status | staging | production |\n| --- | --- | --- | --- |\n" in out
    assert "| `workers` | differs | `2`<br>`config/shop.yaml:1` (file) | `8`<br>" in out
    assert_secret_free(result.stdout, result.stderr)


def test_equal_secrets_exit_0_in_every_format(project: Path) -> None:
    (project / "secrets").mkdir()
    (project / "secrets" / "db__password").write_text(STAGING_PASSWORD + "\n")
    (project / "a.env").write_text(f"SHOP_DB__PASSWORD={STAGING_PASSWORD}\n")
    (project / "b.env").write_text("# the password comes from the secrets dir\n")
    for fmt in ("text", "json", "markdown"):
        result = diff(project, f"--env-file a.env --env-file b.env --format {fmt} --all")
        assert result.returncode == 0, result.stderr
        assert "**********" in result.stdout
        assert_secret_free(result.stdout, result.stderr)


def test_a_side_that_fails_exits_1_naming_the_side(project: Path) -> None:
    (project / "broken.env").write_text(
        f"SHOP_WORKERS=many\nSHOP_DB__PASSWORD={STAGING_PASSWORD}\n"
    )
    result = diff(project, "--env-file broken.env --env-file production.env")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(
        "envconf: left (--env-file broken.env): cannot be loaded: 1 configuration problem:\n"
    )
    assert "  workers: SHOP_WORKERS='many' (env): " in result.stderr
    assert "right" not in result.stderr
    assert_secret_free(result.stdout, result.stderr)


def test_a_missing_env_file_or_config_file_is_a_located_error(project: Path) -> None:
    result = diff(project, "--env-file staging.env --env-file nope.env")
    assert (result.returncode, result.stdout) == (1, "")
    assert "right (--env-file nope.env): cannot be loaded" in result.stderr
    assert "nope.env (env file): no such file" in result.stderr
    result = diff(project, "--config config/shop.yaml --config x.yaml")
    assert (result.returncode, result.stdout) == (1, "")
    assert "right (--config x.yaml): cannot be loaded" in result.stderr


def test_a_mistyped_profile_is_warned_about(project: Path) -> None:
    result = diff(project, "--profile stagign --profile production")
    assert result.returncode == 1
    assert (
        "envconf: warning: left (--profile stagign): config/shop.stagign.yaml: "
        "profile stagign: not found" in result.stderr
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--profile", "a"), "name the two sides"),
        (("--profile", "a", "--profile", "b", "--profile", "c"), "--profile given 3 times"),
        (("--profile", "a", "--profile", "b", "--format", "yaml"), "invalid choice"),
        (("--profile", "a", "--profile", "b", "--", "--wrokers", "2"), "unknown option"),
    ],
)
def test_usage_errors_exit_2(project: Path, args: tuple[str, ...], message: str) -> None:
    result = envconf(project, "diff", *SIDES, *args)
    assert (result.returncode, result.stdout) == (2, "")
    assert message in result.stderr


def test_a_settings_class_that_cannot_be_imported_exits_2(project: Path) -> None:
    result = envconf(project, "diff", "--settings", "nope:Shop", "--profile", "a", "--profile", "b")
    assert result.returncode == 2
    assert "cannot import nope" in result.stderr


def test_help(project: Path) -> None:
    result = envconf(project, "diff", "--help")
    assert result.returncode == 0
    assert "--env-file FILE" in result.stdout and "--all" in result.stdout


def test_docs_cli_page_names_every_option(project: Path) -> None:
    """As tests/test_docs_pages.py checks for the other commands."""
    result = envconf(project, "diff", "--help")
    page = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
    names = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", result.stdout)) - {"--help"}
    assert names and sorted(n for n in names if n not in page) == []
