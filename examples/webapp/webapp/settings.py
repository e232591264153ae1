"""The web service's settings: one typed object, fed by flags, env, secrets and files."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

import envconf


class Database(BaseModel):
    """Where the service keeps its records (the example only reports it)."""

    host: str = Field(default="localhost", description="Database host name")
    port: int = Field(default=5432, description="Database port")
    name: str = Field(default="webapp", description="Database name")
    user: str = Field(default="webapp", description="Database user")
    password: SecretStr | None = Field(
        default=None,
        description="Database password; set APP_DB__PASSWORD_FILE=/run/secrets/db_password",
    )


class AppSettings(envconf.Settings):
    """Settings of the envconf example web service."""

    model_config = envconf.SettingsConfigDict(
        env_prefix="APP_",
        env_nested_delimiter="__",
        config_files=["config/app.yaml"],
    )

    host: str = Field(default="0.0.0.0", description="Address to listen on")
    port: int = Field(default=8000, description="Port to listen on")
    greeting: str = Field(default="hello", description="Shown by GET /")
    debug: bool = Field(default=False, description="Log every request")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Root log level (the rendered logging config uses it)"
    )
    logging_config: Path | None = Field(
        default=None, description="A logging.config.dictConfig YAML file, e.g. rendered"
    )
    data_dir: envconf.DataDir = Field(
        default=Path("/data"), description="Persistent data; mount a volume here"
    )
    db: Database = Database()
