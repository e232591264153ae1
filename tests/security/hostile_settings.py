"""The settings class every security test loads, through the library and the real CLI.

A file of its own so that ``envconf --settings tests/security/hostile_settings.py:Hostile``
imports nothing but envconf and pydantic.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, SecretStr

import envconf

#: A secret default: docs, help and reports must never show it.
DEFAULT_SECRET = "default-secret-3b9d7c41-e0f2"


class Database(BaseModel):
    host: str = "localhost"
    port: int = 5432
    password: SecretStr | None = None
    dsn: str | None = None


class Hostile(envconf.Settings):
    model_config = envconf.SettingsConfigDict(
        env_prefix="APP_",
        env_nested_delimiter="__",
        config_files=["app.yaml"],
        env_file=".env",
        secrets_dir="secrets",
    )

    debug: bool = False
    workers: int = 1
    name: str = "app"
    extra: dict[str, Any] = Field(default_factory=dict)
    token: SecretStr | None = Field(default=None, min_length=40)
    signing_key: SecretStr = Field(default=SecretStr(DEFAULT_SECRET), description="HMAC key")
    db: Database = Database()
