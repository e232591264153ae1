"""End-to-end tests of ``envconf explain|check|docs|dotenv`` run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

BASE_ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
SECRET = "canary-e2e-5d1f"

SETTINGS = '''
from pydantic import BaseModel, Field, SecretStr

import envconf


class Database(BaseModel):
    host: str = "localhost"
    port: int = 5432
    password: SecretStr | None = None


class App(envconf.Settings):
    """The e2e app."""

    model_config = envconf.SettingsConfigDict(
        env_prefix="APP_",
        env_nested_delimiter="__",
        config_files=["config/app.yaml", "config/absent.yaml"],
        secrets_dir="secrets",
    )

    debug: bool = False
    workers: int = Field(default=1, description="Worker processes")
    data: envconf.DataDir | None = None
    db: Database = Database()


NotSettings = dict
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "appsettings.py").write_text(textwrap.dedent(SETTINGS))
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "app.yaml").write_text("workers: 2\ndb:\n  host: db.internal\n")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "db__password").write_text(SECRET + "\n")
    return tmp_path


def envconf(
    project: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envconf", *args],
        env={**BASE_ENV, **(env or {})},
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


SETTINGS_FLAG = ("--settings", "appsettings:App")


def test_explain_table(project: Path) -> None:
    result = envconf(
        project, "explain", *SETTINGS_FLAG, "--", "--workers", "4", env={"APP_DB__PORT": "6432"}
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "precedence (highest first): init > cli > env > dotenv > secret > file > default"
    )
    assert "  config/app.yaml  (loaded)" in lines
    assert "  config/absent.yaml  (not found, skipped)" in lines
    rows = {line.split()[0]: line.split() for line in lines if line.startswith(("db.", "workers"))}
    assert rows["workers"][1:4] == ["4", "cli", "--workers"]
    assert rows["db.port"][1:4] == ["6432", "env", "APP_DB__PORT"]
    assert rows["db.host"][1:4] == ['"db.internal"', "file", "config/app.yaml:3"]
    assert rows["db.password"][1:4] == ["**********", "secret", "secrets/db__password"]
    assert SECRET not in result.stdout + result.stderr


def test_explain_json(project: Path) -> None:
    result = envconf(project, "explain", *SETTINGS_FLAG, "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert list(doc) == ["precedence", "files", "keys"]
    assert doc["precedence"] == ["init", "cli", "env", "dotenv", "secret", "file", "default"]
    assert doc["files"] == [
        {"path": "config/app.yaml", "loaded": True},
        {"path": "config/absent.yaml", "loaded": False, "note": "not found, skipped"},
    ]
    assert [k["key"] for k in doc["keys"]] == [
        "debug",
        "workers",
        "data",
        "db.host",
        "db.port",
        "db.password",
    ]
    workers = doc["keys"][1]
    assert workers == {
        "key": "workers",
        "value": 2,
        "source": "file",
        "location": "config/app.yaml:1",
        "overridden": [{"source": "default", "location": "default"}],
    }
    assert doc["keys"][5]["value"] == "**********"
    assert SECRET not in result.stdout


def test_explain_of_an_invalid_configuration_shows_what_loaded_then_exits_1(
    project: Path,
) -> None:
    result = envconf(
        project, "explain", *SETTINGS_FLAG, env={"APP_WORKERS": "x", "APP_DB__PORT": "6432"}
    )
    assert result.returncode == 1
    assert "workers: APP_WORKERS='x' (env)" in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "INVALID configuration: values as loaded, before validation"
    assert "  config/app.yaml  (loaded)" in lines
    rows = {line.split()[0]: line.split() for line in lines if line.startswith(("db.", "workers"))}
    assert rows["workers"][1:4] == ['"x"', "env", "APP_WORKERS"]
    assert rows["db.port"][1:4] == ['"6432"', "env", "APP_DB__PORT"]  # as given, unvalidated
    assert rows["db.host"][1:4] == ['"db.internal"', "file", "config/app.yaml:3"]
    assert rows["db.password"][1:4] == ["**********", "secret", "secrets/db__password"]
    assert SECRET not in result.stdout + result.stderr


def test_explain_json_of_an_invalid_configuration_is_the_problem_list_only(
    project: Path,
) -> None:
    result = envconf(
        project, "explain", *SETTINGS_FLAG, "--format", "json", env={"APP_WORKERS": "x"}
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert "workers: APP_WORKERS='x' (env)" in result.stderr


def test_check_ok_prints_a_one_line_summary(project: Path) -> None:
    result = envconf(project, "check", *SETTINGS_FLAG)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1
    assert result.stdout.startswith("ok: App is valid")


def test_check_lists_every_problem_on_stderr_without_traceback(project: Path) -> None:
    (project / "config" / "app.yaml").write_text("workers: many\nwrkers: 1\n")
    result = envconf(
        project, "check", *SETTINGS_FLAG, env={"APP_DB__PORT": "x", "APP_DEBUG": "perhaps"}
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("envconf: 4 configuration problems:\n")
    for expected in (
        "wrkers: config/app.yaml:2 (file): unknown key (did you mean workers?)",
        "db.port: APP_DB__PORT='x' (env)",
        "debug: APP_DEBUG='perhaps' (env)",
        "workers: config/app.yaml:1='many' (file)",
    ):
        assert expected in result.stderr


def test_app_args_after_the_separator_reach_the_loader(project: Path) -> None:
    result = envconf(project, "check", *SETTINGS_FLAG, "--", "--db.port", "nope")
    assert result.returncode == 1
    assert "db.port: --db.port='nope' (cli)" in result.stderr


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_module:App", "cannot import no_such_module"),
        ("appsettings:NotSettings", "NotSettings is not an envconf.Settings subclass"),
        ("appsettings:Missing", "has no attribute Missing"),
        ("appsettings", "expected MODULE:CLASS"),
        ("missing.py:App", "no such file missing.py"),
        ("appsettings.py:App", ""),
    ],
)
def test_bad_settings_exits_2(project: Path, spec: str, message: str) -> None:
    result = envconf(project, "check", "--settings", spec)
    if not message:  # the path form works
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_app_flag_after_the_separator_exits_2(project: Path) -> None:
    result = envconf(project, "check", *SETTINGS_FLAG, "--", "--wrkers", "3")
    assert result.returncode == 2
    assert "unknown option --wrkers (did you mean --workers?)" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_settings_option_exits_2(project: Path) -> None:
    result = envconf(project, "check")
    assert result.returncode == 2
    assert "--settings" in result.stderr


def test_docs_writes_a_markdown_reference(project: Path) -> None:
    result = envconf(project, "docs", *SETTINGS_FLAG)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# App configuration reference\n")
    assert "| `workers` | `int` | `1` | `APP_WORKERS` | `--workers` | no | Worker processes |" in (
        result.stdout
    )
    assert result.stderr == ""


def test_dotenv_writes_an_example(project: Path) -> None:
    result = envconf(project, "dotenv", *SETTINGS_FLAG)
    assert result.returncode == 0, result.stderr
    assert "# APP_WORKERS=1" in result.stdout.splitlines()
    assert "# APP_DB__PASSWORD=" in result.stdout.splitlines()


def not_on_a_volume(*candidates: Path) -> Path:
    from envconf.tools.volumes import on_volume

    for candidate in candidates:
        if candidate.is_dir() and os.access(candidate, os.W_OK) and not on_volume(candidate):
            return candidate
    pytest.skip("no writable directory off a mounted volume to test with")


def test_check_strict_fails_for_a_data_dir_not_on_a_volume(project: Path) -> None:
    data = not_on_a_volume(project)
    env = {"APP_DATA": str(data)}
    relaxed = envconf(project, "check", *SETTINGS_FLAG, env=env)
    assert relaxed.returncode == 0, relaxed.stderr
    assert "envconf: warning: data: data directory" in relaxed.stderr
    assert relaxed.stdout.startswith("ok:")
    strict = envconf(project, "check", "--strict", *SETTINGS_FLAG, env=env)
    assert strict.returncode == 1
    assert "envconf: error: data: data directory" in strict.stderr
    assert strict.stdout == ""


def test_check_format_json_lists_every_problem_on_stdout(project: Path) -> None:
    bad = {"APP_WORKERS": "many", "APP_DB__PORT": "x"}
    result = envconf(project, "check", *SETTINGS_FLAG, "--format", "json", env=bad)
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    assert doc["ok"] is False
    assert {p["key"] for p in doc["problems"]} >= {"workers", "db.port"}
    ok = envconf(project, "check", *SETTINGS_FLAG, "--format", "json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["ok"] is True


def test_version_and_envconf_settings_for_every_command(project: Path) -> None:
    version = envconf(project, "--version")
    assert version.returncode == 0 and version.stdout.startswith("envconf ")
    env = {"ENVCONF_SETTINGS": SETTINGS_FLAG[1]}
    for command in ("check", "explain", "docs", "dotenv"):
        result = envconf(project, command, env=env)
        assert result.returncode == 0, (command, result.stderr)


def test_check_warns_about_a_profile_without_a_file(project: Path) -> None:
    result = envconf(project, "check", *SETTINGS_FLAG, env={"APP_PROFILE": "prod"})
    assert result.returncode == 0
    assert "warning: config/app.prod.yaml: profile prod: not found" in result.stderr


def test_a_mistyped_option_gets_a_suggestion_and_help_shows_app_args(project: Path) -> None:
    typo = envconf(project, "check", "--setings", "appsettings:App")
    assert typo.returncode == 2
    assert "--setings: did you mean --settings?" in typo.stderr
    help_text = envconf(project, "explain", "--help")
    assert "usage: envconf explain [options] [-- APP_ARGS...]" in help_text.stdout


def test_a_prefixed_variable_that_sets_no_key_warns_and_fails_under_strict(project: Path) -> None:
    env = {"APP_WROKERS": "3", "APP_CONFIG": "config/app.yaml"}
    loose = envconf(project, "check", *SETTINGS_FLAG, env=env)
    assert loose.returncode == 0
    assert "APP_WROKERS: the variable has the prefix 'APP_' but sets no key" in loose.stderr
    assert "(did you mean APP_WORKERS?)" in loose.stderr
    assert "APP_CONFIG" not in loose.stderr  # envconf's own variable
    strict = envconf(project, "check", *SETTINGS_FLAG, "--strict", env=env)
    assert strict.returncode == 1


# Registered before envconf runs, so it runs after the command returns, at interpreter exit:
# reports what the exit-time collections will skip (frozen) and the exit status.
_AT_EXIT = (
    "import atexit, gc, sys\n"
    "atexit.register(lambda: sys.stderr.write(f'frozen-at-exit {gc.get_freeze_count()}\\n'))\n"
)


def _frozen_at_exit(argv: list[str], tmp_path: Path) -> tuple[int, int]:
    (tmp_path / "sitecustomize.py").write_text(_AT_EXIT)
    (tmp_path / "a.conf.tmpl").write_text("port ${PORT};\n")
    env = {**BASE_ENV, "PYTHONPATH": str(tmp_path), "PORT": "80"}
    done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True)
    line = next(x for x in done.stderr.splitlines() if x.startswith("frozen-at-exit "))
    return done.returncode, int(line.split()[1])


@pytest.mark.parametrize("how", ["installed command", "python -m envconf"])
def test_the_command_exits_with_its_objects_out_of_the_exit_collections(
    how: str, tmp_path: Path
) -> None:
    envconf = str(Path(sys.executable).parent / "envconf")
    start = [envconf] if how == "installed command" else [sys.executable, "-m", "envconf"]
    status, frozen = _frozen_at_exit([*start, "render", "-t", "a.conf.tmpl"], tmp_path)
    assert (status, (tmp_path / "a.conf").read_text()) == (0, "port 80;\n")
    assert frozen > 0
    # The exit status still comes through (2: a usage error).
    status, frozen = _frozen_at_exit([*start, "render", "--no-such-flag"], tmp_path)
    assert status == 2
    assert frozen > 0


def test_main_called_by_a_program_freezes_nothing(tmp_path: Path) -> None:
    code = "import gc, sys\nfrom envconf.cli import main\nsys.exit(main(['--help']))\n"
    status, frozen = _frozen_at_exit([sys.executable, "-c", code], tmp_path)
    assert (status, frozen) == (0, 0)
