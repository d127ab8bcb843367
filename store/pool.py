"""Connection pools and connection options from StoreSettings, made to ride out outages.

What an outage needs from a pool, and psycopg_pool's defaults do not give:
- a caller waits `pool_timeout_s` for a connection, not 30 s (the API turns the wait into 503);
- a connection is pinged (store.liveness, with a deadline) as it is handed out, so one left
  dead by a server restart, or stuck on a frozen server, is replaced instead of failing or
  hanging the caller's query;
- a lost connection is retried for `pool_reconnect_s`, then left to the next caller that
  needs one. psycopg_pool's own retry doubles its delay up to `reconnect_timeout` (5 min by
  default): after a minute's outage the pool would wait another minute before trying again;
- TCP keepalives, so a connection to a host that vanished is noticed even while idle.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from store.liveness import ping, ping_async
from store.settings import StoreSettings

# Idle connections send a keepalive after 10 s; 3 unanswered probes 5 s apart drop them.
_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5}
_KEEPALIVES_COUNT = 3


def conninfo(store: StoreSettings, application_name: str) -> str:
    """The store's URL with `connect_options`, for a connection of its own (a LISTEN)."""
    return make_conninfo(store.url, **connect_options(store, application_name))


def connect_options(store: StoreSettings, application_name: str) -> dict[str, str | int]:
    """libpq parameters of every long-lived connection: its name in pg_stat_activity, a
    connection timeout, TCP keepalives."""
    return {
        "application_name": application_name,
        "connect_timeout": max(1, round(store.connect_timeout_s)),
        **_KEEPALIVES,
        "keepalives_count": _KEEPALIVES_COUNT,
    }


def async_pool(
    store: StoreSettings,
    name: str,
    *,
    min_size: int,
    max_size: int,
    autocommit: bool = False,
    application_name: str | None = None,
) -> AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]]:
    """An unopened asyncio pool named `name` (its sessions' application_name too, unless given);
    `await pool.open(wait=False)` starts it without waiting for the database."""

    async def check(conn: psycopg.AsyncConnection[TupleRow]) -> None:
        await ping_async(conn, store.ping_timeout_s)

    return AsyncConnectionPool(
        store.url,
        check=check,
        **_pool_options(store, name, min_size, max_size, autocommit, application_name),
    )


def sync_pool(
    store: StoreSettings,
    name: str,
    *,
    min_size: int,
    max_size: int,
    autocommit: bool = False,
    application_name: str | None = None,
) -> ConnectionPool[psycopg.Connection[TupleRow]]:
    """An unopened pool for threads (`pool.open(wait=False)` starts it)."""

    def check(conn: psycopg.Connection[TupleRow]) -> None:
        ping(conn, store.ping_timeout_s)

    return ConnectionPool(
        store.url,
        check=check,
        **_pool_options(store, name, min_size, max_size, autocommit, application_name),
    )


def _pool_options(
    store: StoreSettings,
    name: str,
    min_size: int,
    max_size: int,
    autocommit: bool,
    application_name: str | None,
) -> dict[str, Any]:
    """What both kinds of pool take alike (psycopg_pool has one class per kind)."""
    return {
        "min_size": min_size,
        "max_size": max(max_size, min_size),
        "kwargs": {**connect_options(store, application_name or name), "autocommit": autocommit},
        "open": False,
        "name": name,
        "timeout": store.pool_timeout_s,
        "reconnect_timeout": store.pool_reconnect_s,
    }
