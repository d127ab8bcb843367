"""The PostgreSQL server itself, for the embedded server and `courtyard up`: where it keeps its
data, and the database it serves Courtyard from (made on first start)."""

from __future__ import annotations

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow


def data_directory(conn: psycopg.Connection[TupleRow]) -> str:
    """The server's data directory, as its settings name it."""
    row = conn.execute("SELECT current_setting('data_directory')").fetchone()
    assert row is not None
    return str(row[0])


def create_database_unless_exists(conn: psycopg.Connection[TupleRow], name: str) -> bool:
    """Create the database `name` unless the server has it; True when it was created. The
    connection must be in autocommit mode (CREATE DATABASE runs outside transactions)."""
    exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if exists:
        return False
    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return True
