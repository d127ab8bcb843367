"""Settings: one typed object from COURTYARD_* variables and .env, composed of package sections.

Top-level variables are the ones people set most (COURTYARD_DATABASE_URL, COURTYARD_MQTT_URL,
COURTYARD_HTTP_HOST, COURTYARD_HTTP_PORT); a section's own knobs use a double underscore, e.g.
COURTYARD_INGEST__BATCH_MAX_MESSAGES=5000 or COURTYARD_STORE__RETENTION_DAYS=90.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.settings import ApiSettings
from courtyard.embedded import default_data_dir
from i18n.settings import LocaleSettings
from ingest.settings import IngestSettings, check_mqtt_url
from rules.notify.settings import NotifySettings
from rules.settings import RulesSettings
from store.settings import StoreSettings, check_postgres_url

ENV_PREFIX = "COURTYARD_"


class ConfigError(Exception):
    """Settings could not be built; the message names every offending variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    #: Unset: `courtyard up` starts an embedded PostgreSQL.
    database_url: str = ""
    #: Unset: `courtyard up` starts an embedded broker.
    mqtt_url: str = ""
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=0, le=65535)
    #: Where embedded servers keep their data (as root: /var/lib/courtyard, which the
    #: unprivileged account the servers run as can reach).
    data_dir: Path = Field(default_factory=default_data_dir)
    log_level: str = "INFO"
    #: `text` for people, `json` (one object per line) for log collectors.
    log_format: Literal["text", "json"] = "text"

    store: StoreSettings = Field(default_factory=StoreSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    rules: RulesSettings = Field(default_factory=RulesSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    locale: LocaleSettings = Field(default_factory=LocaleSettings)

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return upper

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return check_postgres_url(value)

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_url(cls, value: str) -> str:
        return check_mqtt_url(value)

    def with_urls(self, database_url: str, mqtt_url: str) -> Settings:
        """A copy whose sections point at these servers (the embedded ones, or the configured)."""
        return self.model_copy(
            update={
                "database_url": database_url,
                "mqtt_url": mqtt_url,
                "store": self.store.model_copy(update={"url": database_url}),
                "ingest": self.ingest.model_copy(update={"mqtt_url": mqtt_url}),
                "api": self.api.model_copy(
                    update={
                        "mqtt_url": mqtt_url,
                        "notify_allowed_destinations": self.notify.allowed_destinations,
                    }
                ),
            }
        )

    def resolved(self) -> Settings:
        """Copy the top-level URLs into the sections that use them."""
        return self.with_urls(
            self.database_url or self.store.url, self.mqtt_url or self.ingest.mqtt_url
        )


def load_settings() -> Settings:
    """Build Settings from the environment and .env, or raise ConfigError naming the variables."""
    try:
        return Settings().resolved()
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    lines = ["invalid configuration:"]
    for error in exc.errors():
        variable = ENV_PREFIX + "__".join(str(part) for part in error["loc"]).upper()
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"  {variable}: {message} (got {error.get('input')!r})")
    return "\n".join(lines)
