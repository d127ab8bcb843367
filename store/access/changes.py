"""Access changes, announced to every API process: a token revoked, a session ended, a user
deactivated or given a new password. The API drops its cached authentications and re-checks
its open streams when it hears one (api.feed).
"""

from __future__ import annotations

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

#: NOTIFYed (at commit) when a token is revoked, a session ends or a user is deactivated: API
#: processes drop their cached authentications and re-check their open streams at once.
ACCESS_CHANNEL = "courtyard_access_changes"


_LISTEN = sql.SQL("LISTEN {}").format(sql.Identifier(ACCESS_CHANNEL))


async def alisten(conn: psycopg.AsyncConnection[TupleRow]) -> None:
    """Have the (autocommit) connection receive every access change announced from now on."""
    await conn.execute(_LISTEN)


async def announce(conn: psycopg.AsyncConnection[TupleRow]) -> None:
    # Delivered at commit (at once in autocommit); the payload is not needed.
    await conn.execute("SELECT pg_notify(%s, '')", (ACCESS_CHANNEL,))
