"""The database's sessions (pg_stat_activity), for `courtyard status`: every service holds
sessions named after it, wherever it runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
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
