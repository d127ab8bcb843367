"""Which back end a database runs on, TimescaleDB or plain PostgreSQL, as migrations recorded it."""

from __future__ import annotations

from enum import StrEnum

import psycopg
from psycopg.rows import TupleRow


class Backend(StrEnum):
    TIMESCALEDB = "timescaledb"
    POSTGRESQL = "postgresql"


class NotMigratedError(Exception):
    """The database has no Courtyard schema yet: run `courtyard migrate`."""


def backend_of(conn: psycopg.Connection[TupleRow]) -> Backend:
    try:
        row = conn.execute("SELECT value FROM store_info WHERE key = 'backend'").fetchone()
    except psycopg.errors.UndefinedTable:
        raise NotMigratedError(
            "the database has no Courtyard schema: run `courtyard migrate`"
        ) from None
    if row is None:
        raise NotMigratedError("the database has no Courtyard schema: run `courtyard migrate`")
    return Backend(row[0])
