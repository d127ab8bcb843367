"""Time zone names as the database knows them (pg_timezone_names): the zones a site or a
household may be given."""

from __future__ import annotations

import psycopg
from psycopg.rows import TupleRow


async def is_known_zone(conn: psycopg.AsyncConnection[TupleRow], name: str) -> bool:
    """Whether `name` is an IANA zone of the server's (pg_timezone_names; case matters)."""
    cur = await conn.execute("SELECT 1 FROM pg_timezone_names WHERE name = %s", (name,))
    return await cur.fetchone() is not None
