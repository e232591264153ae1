"""``envconf.testing``: the ``envconf_jail`` fixture, run through the real plugin.

The isolation promises are checked by running a small test file with pytester, in a
directory holding a ``.env`` and with variables in the real environment that the jailed
tests must not see. The helpers are tested with the fixture itself: envconf's own suite
gets it from the same ``pytest11`` entry point as any app's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import envconf
from envconf.testing import Jail

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
WEBAPP = ROOT / "examples" / "webapp"

JAILED_TESTS = '''
import os
import sys

import pytest
from pydantic import BaseModel, SecretStr

import envconf

START = os.getcwd()


class Database(BaseModel):
    host: str = "localhost"
    password: SecretStr | None = None


class Shop(envconf.Settings):
    model_config = envconf.SettingsConfigDict(
        env_prefix="SHOP_",
        env_nested_delimiter="__",
        env_file=".env",
        config_files=["shop.yaml"],
    )

    port: int = 8000
    debug: bool = False
    db: Database = Database()


def test_the_real_environment_and_cwd_are_not_seen(envconf_jail):
    assert os.getcwd() == str(envconf_jail.path) != START
    assert "SHOP_PORT" not in os.environ and "SHOP_DB__HOST" not in os.environ
    assert os.environ["HOME"] == str(envconf_jail.home)
    assert os.environ["PATH"]  # tools still work
    settings = envconf_jail.load(Shop)
    assert settings.port == 8000  # SHOP_PORT in the real environment: not seen
    assert settings.debug is False  # the real working directory's .env: not read
    assert settings.db.password is None  # nothing read from a real /run/secrets
    assert Shop().port == 8000  # code under test that loads by itself is jailed too


def test_files_env_dotenv_secrets_and_argv(envconf_jail):
    envconf_jail.file(
        "shop.yaml",
        """
        port: 81
        db:
          host: db.internal
        """,
    )
    envconf_jail.dotenv(SHOP_DEBUG="true")
    envconf_jail.secret("db__password", "s3cret\\n")
    envconf_jail.env(SHOP_PORT="82")
    assert envconf_jail.load(Shop).port == 82
    envconf_jail.argv("--port", "83")
    assert sys.argv[1:] == ["--port", "83"]
    settings = envconf_jail.load(Shop)
    assert (settings.port, settings.debug, settings.db.host) == (83, True, "db.internal")
    assert settings.db.password.get_secret_value() == "s3cret"
    assert os.environ["SHOP_PORT"] == "82"  # the jail's variables are os.environ's too


def test_provenance_is_reported(envconf_jail):
    envconf_jail.file("shop.yaml", "port: 81\\n")
    envconf_jail.secret("db__password", "s3cret")
    envconf_jail.env(SHOP_DEBUG="1")
    envconf_jail.load(Shop)
    origins = envconf_jail.explain()
    assert str(origins["port"]) == "shop.yaml:1 (file), overriding default"
    assert origins["debug"].location == "SHOP_DEBUG"
    assert origins["db.password"].location == str(envconf_jail.secrets_dir / "db__password")
    report = envconf_jail.report()
    assert report["files"] == [{"path": "shop.yaml", "loaded": True}]
    assert "s3cret" not in repr(report)


@pytest.mark.xfail(strict=True, reason="a failing test leaves the jail as a passing one does")
def test_a_failure_inside_the_jail(envconf_jail):
    envconf_jail.env(SHOP_PORT="not a number")
    os.chdir("/")
    envconf_jail.load(Shop)


def test_after_the_jails_everything_is_restored():
    assert os.getcwd() == START
    assert os.environ["SHOP_PORT"] == "1"
    assert "SHOP_DEBUG" not in os.environ
    assert "HOME" not in os.environ or os.environ["HOME"] != ""
    assert sys.argv[1:] != ["--port", "83"]
'''


@pytest.fixture
def jailed_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester dir with a ``.env`` and a real environment the jailed tests must not see."""
    monkeypatch.setenv("SHOP_PORT", "1")
    monkeypatch.setenv("SHOP_DB__HOST", "real.example")
    (pytester.path / ".env").write_text("SHOP_DEBUG=true\nSHOP_PORT=2\n")
    pytester.makepyfile(test_jailed=JAILED_TESTS)
    return pytester


def test_the_plugin_is_registered_by_its_entry_point() -> None:
    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert plugins["envconf"] == "envconf.testing"


def test_jailed_tests_see_nothing_of_the_real_environment(jailed_project: pytest.Pytester) -> None:
    # A fresh interpreter: the fixture comes from the installed entry point, nothing else.
    result = jailed_project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4, xfailed=1)


def test_without_the_plugin_there_is_no_fixture(jailed_project: pytest.Pytester) -> None:
    result = jailed_project.runpytest_subprocess("-p", "no:envconf", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=3, xfailed=1)
    result.stdout.fnmatch_lines(["*fixture 'envconf_jail' not found*"])


def test_the_plugin_does_not_import_pydantic_until_a_jail_loads() -> None:
    code = (
        "import sys, envconf.testing\n"
        "heavy = ('pydantic', 'pydantic_settings', 'yaml', 'jinja2', 'dotenv')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout == "[]\n", run.stderr


def test_the_webapp_examples_own_tests_pass() -> None:
    """``examples/webapp/tests`` shows the fixture to app authors; it must keep working."""
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests"],
        cwd=WEBAPP,
        env={**env, "APP_PORT": "1", "DB_HOST": "real.example"},  # must not leak in
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert " passed" in run.stdout


# --- the helpers, with the fixture itself ----------------------------------------------------


class Plain(envconf.Settings):
    model_config = envconf.SettingsConfigDict(
        env_prefix="PLAIN_", env_file=".env", config_files=["plain.yaml"], secrets_dir=None
    )

    name: str = "plain"
    workers: int = 1


def test_dotenv_values_read_back_exactly(envconf_jail: Jail) -> None:
    tricky = 'it\'s $HOME "quoted" \\ back\nslash'
    envconf_jail.dotenv(PLAIN_NAME=tricky)
    assert envconf_jail.load(Plain).name == tricky
    envconf_jail.dotenv(PLAIN_NAME="${NOT_EXPANDED} # not a comment")
    assert envconf_jail.load(Plain).name == "${NOT_EXPANDED} # not a comment"
    envconf_jail.dotenv("PLAIN_WORKERS=3\n", name=".env")
    assert envconf_jail.load(Plain).workers == 3


def test_files_are_dedented_so_lines_count_from_the_first(envconf_jail: Jail) -> None:
    path = envconf_jail.file(
        "plain.yaml",
        """
        name: from-file
        workers: 2
        """,
    )
    assert path.read_text() == "name: from-file\nworkers: 2\n"
    envconf_jail.load(Plain)
    assert envconf_jail.explain()["workers"].location == "plain.yaml:2"
    raw = envconf_jail.file("raw.txt", "  kept\n", dedent=False)
    assert raw.read_text() == "  kept\n"


def test_copy_unset_and_init_values(
    envconf_jail: Jail, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("shipped") / "config"
    outside.mkdir()
    (outside / "plain.yaml").write_text("workers: 5\n")
    envconf_jail.copy(outside / "plain.yaml")
    assert envconf_jail.load(Plain).workers == 5
    envconf_jail.copy(outside, "config")
    assert (envconf_jail.path / "config" / "plain.yaml").is_file()
    envconf_jail.env({"PLAIN_WORKERS": "6"}, PLAIN_NAME="env")
    assert envconf_jail.environ == {"PLAIN_WORKERS": "6", "PLAIN_NAME": "env"}
    envconf_jail.unset("PLAIN_WORKERS")
    assert "PLAIN_WORKERS" not in os.environ
    settings = envconf_jail.load(Plain, workers=7)
    assert (settings.name, settings.workers) == ("env", 7)
    assert envconf_jail.explain(settings)["workers"].source == "init"


def test_a_class_without_a_secrets_dir_reads_none(envconf_jail: Jail) -> None:
    envconf_jail.secret("plain_name", "secret-name")
    assert envconf_jail.load(Plain).name == "plain"


def test_explain_before_any_load_says_what_to_do(envconf_jail: Jail) -> None:
    with pytest.raises(LookupError, match=r"call jail\.load"):
        envconf_jail.explain()


def test_env_values_must_be_text(envconf_jail: Jail) -> None:
    with pytest.raises(TypeError, match="PLAIN_WORKERS"):
        envconf_jail.env(PLAIN_WORKERS=3)  # type: ignore[arg-type]


def test_a_jail_outside_pytest_restores_everything_even_on_error(tmp_path: Path) -> None:
    cwd, environ, argv = os.getcwd(), dict(os.environ), list(sys.argv)
    with pytest.raises(envconf.ConfigError), Jail(tmp_path / "jail") as jail:
        jail.env(PLAIN_WORKERS="many")
        jail.argv("--name", "x")
        assert os.getcwd() == str(tmp_path / "jail")
        jail.load(Plain)
    assert (os.getcwd(), dict(os.environ), list(sys.argv)) == (cwd, environ, argv)


def test_a_secret_goes_to_the_jails_secrets_dir(envconf_jail: Jail) -> None:
    path = envconf_jail.secret("db_password", "s3cret")
    assert path == envconf_jail.secrets_dir / "db_password"
    assert path.read_text() == "s3cret"
