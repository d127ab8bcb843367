"""The PostgreSQL server itself: the sessions on Courtyard's database (for `courtyard status`:
every service names its sessions after itself), the time zones it knows (the zones a site or a
household may be given), where it keeps its data and the databases it serves (for the embedded
server and `courtyard up`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow, class_row


@dataclass(frozen=True, slots=True)
class DatabaseSession:
    backend_pid: int
    application_name: str
    #: The client's address, or 'local' for a Unix socket.
    client: str
    since: datetime


def other_sessions(conn: psycopg.Connection[TupleRow]) -> list[DatabaseSession]:
    """The sessions on this connection's database except its own, oldest first."""
    with conn.cursor(row_factory=class_row(DatabaseSession)) as cur:
        return cur.execute(
            """
            SELECT pid AS backend_pid, application_name,
                   coalesce(host(client_addr), 'local') AS client, backend_start AS since
            FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid()
            ORDER BY backend_start, pid
            """
        ).fetchall()


async def is_known_zone(conn: psycopg.AsyncConnection[TupleRow], name: str) -> bool:
    """Whether `name` is an IANA zone of the server's (pg_timezone_names; case matters)."""
    cur = await conn.execute("SELECT 1 FROM pg_timezone_names WHERE name = %s", (name,))
    return await cur.fetchone() is not None


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
