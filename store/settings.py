"""StoreSettings: how to reach the database and how long to keep what."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator


class StoreSettings(BaseModel):
    #: postgresql://user:pass@host:port/db. Filled from COURTYARD_DATABASE_URL, or by
    #: `courtyard up` with the embedded server's URL when that is unset.
    url: str = ""
    pool_min_size: int = Field(default=1, ge=0)
    pool_max_size: int = Field(default=8, ge=1)
    #: A connection attempt the server does not answer within this fails (a stopped or frozen
    #: server, a lost host); the caller's reconnection loop tries again.
    connect_timeout_s: float = Field(default=5.0, gt=0)
    #: How long a caller waits for a pooled connection. The API answers 503
    #: `database_unavailable` after it, rather than holding the request while the database is
    #: away.
    pool_timeout_s: float = Field(default=3.0, gt=0)
    #: A pooled connection must answer an empty query within this when it is handed out; one
    #: that does not (a frozen server, a dead peer behind a live socket) is closed and replaced.
    ping_timeout_s: float = Field(default=1.5, gt=0)
    #: A pool retries a lost connection for this long (1, 2, 4 s apart), then leaves the next
    #: attempt to the next caller that needs one: after an outage connections come back with
    #: the first request, not after a backoff grown to minutes.
    pool_reconnect_s: float = Field(default=5.0, gt=0)
    #: Raw readings and events older than this are dropped (TimescaleDB retention policy, or the
    #: platform's own pruning job on plain PostgreSQL). Ingest rejects older timestamps.
    retention_days: int = Field(default=365, ge=1)
    #: TimescaleDB: compress readings/events chunks older than this.
    compress_after_days: int = Field(default=7, ge=1)
    #: "auto" uses TimescaleDB when the extension can be created; "off" never does; "on" fails
    #: when it is missing (production deployments that must not silently fall back).
    timescaledb: Literal["auto", "on", "off"] = "auto"
    application_name: str = "courtyard"
    #: Committed batches wait this long in the feed (store.readings.feed) for a rules engine that
    #: is down; consumed batches go as soon as every site's engine has passed them.
    feed_keep_h: float = Field(default=24.0, gt=0)

    @field_validator("url")
    @classmethod
    def _postgres_url(cls, value: str) -> str:
        return check_postgres_url(value)


def check_postgres_url(value: str) -> str:
    if value and not value.startswith(("postgresql://", "postgres://")):
        raise ValueError("must be a postgresql://user:password@host:port/database URL")
    return value
