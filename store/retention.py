"""prune: drop raw readings, events and rejects past the retention window on plain PostgreSQL.

TimescaleDB does this itself with its retention policy (store/timescale.py); this is the same
rule for plain PostgreSQL, run periodically by the ingest service. Hourly rollups are kept: they
are small and serve long-range charts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import psycopg
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


def prune(conn: psycopg.Connection[TupleRow], retention_days: int) -> Pruned:
    """Delete rows older than `retention_days`; a no-op on TimescaleDB. Commits as it goes."""
    with conn.transaction():
        if backend_of(conn) is Backend.TIMESCALEDB:
            return Pruned()
    pruned = Pruned(
        readings=_delete_older(conn, "readings", "ts", retention_days),
        events=_delete_older(conn, "events", "ts", retention_days),
        rejects=_delete_older(conn, "rejected_messages", "received_at", retention_days),
    )
    if pruned != Pruned():
        logger.info("pruned past %d days: %s", retention_days, pruned)
    return pruned


def _delete_older(
    conn: psycopg.Connection[TupleRow], table: str, column: str, retention_days: int
) -> int:
    statement = psycopg.sql.SQL(
        "DELETE FROM {table} WHERE ctid = ANY(ARRAY("
        "SELECT ctid FROM {table} WHERE {column} < now() - make_interval(days => %s) LIMIT %s))"
    ).format(table=psycopg.sql.Identifier(table), column=psycopg.sql.Identifier(column))
    total = 0
    while True:
        with conn.transaction():
            deleted = conn.execute(statement, (retention_days, _SLICE_ROWS)).rowcount
        total += deleted
        if deleted < _SLICE_ROWS:
            return total
