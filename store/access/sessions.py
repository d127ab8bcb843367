"""Dashboard sessions: created at login, kept alive by use, ended at logout or when the user's
access changes. Only SHA-256 hashes of session ids reach the store.
"""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg.rows import TupleRow

from store.access.changes import announce


async def create_session(
    conn: psycopg.AsyncConnection[TupleRow],
    *,
    id_hash: bytes,
    user_id: str,
    csrf_token: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(
        """
        INSERT INTO dashboard_sessions (id_hash, user_id, csrf_token, created_at, last_seen_at,
                                        expires_at)
        VALUES (%s, %s, %s, %s, %s, %s)
        """,
        (id_hash, user_id, csrf_token, now, now, expires_at),
    )


async def touch_session(
    conn: psycopg.AsyncConnection[TupleRow], id_hash: bytes, at: datetime
) -> None:
    await conn.execute(
        "UPDATE dashboard_sessions SET last_seen_at = %s WHERE id_hash = %s", (at, id_hash)
    )


async def end_session(
    conn: psycopg.AsyncConnection[TupleRow], id_hash: bytes, at: datetime
) -> None:
    cur = await conn.execute(
        "UPDATE dashboard_sessions SET revoked_at = %s WHERE id_hash = %s AND revoked_at IS NULL",
        (at, id_hash),
    )
    if cur.rowcount == 1:
        await announce(conn)


async def end_sessions_of(
    conn: psycopg.AsyncConnection[TupleRow], user_id: str, at: datetime
) -> None:
    await conn.execute(
        "UPDATE dashboard_sessions SET revoked_at = %s WHERE user_id = %s AND revoked_at IS NULL",
        (at, user_id),
    )
