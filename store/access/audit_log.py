"""The audit log: who changed people, roles, channels, access or places, and who read residents'
contact details. Appended in the caller's transaction, so a change and its record commit
together.
"""

from __future__ import annotations

from collections.abc import Mapping

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb


async def record(
    conn: psycopg.AsyncConnection[TupleRow],
    *,
    actor: str,
    action: str,
    target: str = "",
    site_id: str | None = None,
    details: Mapping[str, object] | None = None,
) -> None:
    """Append to the audit log (commits with the caller's transaction, or at once in autocommit)."""
    await conn.execute(_INSERT, (actor, action, target, site_id, Jsonb(dict(details or {}))))


def record_sync(
    conn: psycopg.Connection[TupleRow],
    *,
    actor: str,
    action: str,
    target: str = "",
    site_id: str | None = None,
    details: Mapping[str, object] | None = None,
) -> None:
    """`record` for synchronous callers (the CLI), in the caller's transaction."""
    conn.execute(_INSERT, (actor, action, target, site_id, Jsonb(dict(details or {}))))


_INSERT = (
    "INSERT INTO audit_log (actor, action, target, site_id, details) VALUES (%s, %s, %s, %s, %s)"
)
