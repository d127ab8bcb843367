"""prune: drop what is older than the retention window from every table that grows with time.

Raw readings and events: TimescaleDB drops their chunks itself with its retention policy
(store/timescale.py), so here only on plain PostgreSQL. Everything else on both back ends:
rejected messages, the audit log, notifications done with (sent or failed), dashboard sessions
expired that long ago. Run periodically by the ingest service's store maintenance. Kept: the
hourly rollup and its packs (small; they serve long-range charts) and alerts with their history
(the record of what happened to whom).
"""

from __future__ import annotations

import logging
from dataclasses import astuple, dataclass
from typing import LiteralString

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from store.backend import Backend, backend_of

logger = logging.getLogger(__name__)

# Deleting in slices keeps each transaction short, so ingest never waits long on it.
_SLICE_ROWS = 50_000


@dataclass(frozen=True, slots=True)
class Pruned:
    readings: int = 0
    events: int = 0
    rejects: int = 0
    audit: int = 0
    notifications: int = 0
    sessions: int = 0


def prune(conn: psycopg.Connection[TupleRow], retention_days: int) -> Pruned:
    """Delete rows older than `retention_days`. Commits as it goes."""
    with conn.transaction():
        raw = backend_of(conn) is Backend.POSTGRESQL

    def older(table: str, column: str, also: LiteralString = "TRUE") -> int:
        return _delete_older(conn, table, column, retention_days, also)

    pruned = Pruned(
        readings=older("readings", "ts") if raw else 0,
        events=older("events", "ts") if raw else 0,
        rejects=older("rejected_messages", "received_at"),
        audit=older("audit_log", "at"),
        notifications=older("notifications", "created_at", "status IN ('sent', 'failed')"),
        sessions=older("dashboard_sessions", "expires_at"),
    )
    if any(astuple(pruned)):
        logger.info("pruned past %d days: %s", retention_days, pruned)
    return pruned


def _delete_older(
    conn: psycopg.Connection[TupleRow],
    table: str,
    column: str,
    retention_days: int,
    also: LiteralString,
) -> int:
    statement = sql.SQL(
        "DELETE FROM {table} WHERE ctid = ANY(ARRAY("
        "SELECT ctid FROM {table} WHERE {column} < now() - make_interval(days => %s) AND {also}"
        " LIMIT %s))"
    ).format(
        table=sql.Identifier(table),
        column=sql.Identifier(column),
        also=sql.SQL(also),
    )
    total = 0
    while True:
        with conn.transaction():
            deleted = conn.execute(statement, (retention_days, _SLICE_ROWS)).rowcount
        total += deleted
        if deleted < _SLICE_ROWS:
            return total
