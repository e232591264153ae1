"""The service's settings, tested in a jail (the ``envconf_jail`` fixture comes with envconf).

Each test starts in an empty directory with an empty environment: the developer's own
``APP_*`` variables, home directory, ``/run/secrets`` and working directory are never
read, so these tests pass or fail the same everywhere. Run them from this directory with
``python -m pytest tests``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from webapp.settings import AppSettings

import envconf
from envconf.testing import Jail

APP = Path(__file__).resolve().parent.parent


@pytest.fixture
def jail(envconf_jail: Jail) -> Jail:
    """A jail holding the config files the image ships, and a data directory."""
    envconf_jail.copy(APP / "config")
    envconf_jail.file("data/.keep")
    envconf_jail.env(APP_DATA_DIR="data")
    return envconf_jail


def test_the_shipped_config_gives_the_defaults(jail: Jail) -> None:
    settings = jail.load(AppSettings)
    assert (settings.port, settings.db.host, settings.log_level) == (8000, "localhost", "INFO")
    assert str(jail.explain()["db.host"]) == "config/app.yaml:7 (file), overriding default"


def test_production_refuses_to_start_without_a_database_host(jail: Jail) -> None:
    jail.env(APP_PROFILE="production")
    with pytest.raises(envconf.ConfigError, match="required variable DB_HOST is not set"):
        jail.load(AppSettings)
    jail.env(DB_HOST="db.internal")
    settings = jail.load(AppSettings)
    assert (settings.db.host, settings.log_level) == ("db.internal", "WARNING")
    assert jail.explain()["log_level"].location == "config/app.production.yaml:2"


def test_the_password_comes_from_a_secret_file(jail: Jail) -> None:
    path = jail.secret("db_password", "s3cret\n")
    jail.env(APP_DB__PASSWORD_FILE=str(path))
    settings = jail.load(AppSettings)
    assert settings.db.password is not None
    assert settings.db.password.get_secret_value() == "s3cret"
    assert jail.report()["keys"][-1] == {
        "key": "db.password",
        "value": "**********",
        "source": "env",
        "location": f"{path} (via APP_DB__PASSWORD_FILE)",
        "overridden": [{"source": "default", "location": "default"}],
    }


def test_flags_win_over_the_environment(jail: Jail) -> None:
    jail.env(APP_PORT="8080", PORT="8081")
    jail.argv("--port", "9000", "--debug")
    settings = jail.load(AppSettings)
    assert (settings.port, settings.debug) == (9000, True)
    assert str(jail.explain()["port"]) == (
        "--port (cli), overriding APP_PORT (env), config/app.yaml:4 (file), default"
    )
