"""The demo app's settings: one typed object fed by all four control methods."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr

import envconf


class Database(BaseModel):
    """Where the app keeps its data."""

    host: str = "localhost"
    port: int = 5432
    user: str = "app"
    password: SecretStr | None = Field(default=None, description="Database password")


class AppSettings(envconf.Settings):
    """Settings of the demo web app."""

    model_config = envconf.SettingsConfigDict(
        env_prefix="APP_",
        env_nested_delimiter="__",
        config_files=["config/app.yaml"],
        secrets_dir="secrets",
    )

    debug: bool = False
    """Verbose logging and tracebacks in responses."""
    workers: int = Field(default=1, description="Number of worker processes")
    listen: str = Field(default="0.0.0.0:8000", description="Address to listen on")
    allowed_hosts: list[str] = Field(default_factory=lambda: ["localhost"])
    db: Database = Database()
