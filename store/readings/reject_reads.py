"""Rejected messages for the API: counts by reason and keyset pages, narrowed to a Visibility;
and, for `courtyard status`, how many arrived lately (`count_received_within`).

A reject has no site column: its site is read from the topic (`courtyard/v1/<site>/...`), or
from the Zigbee2MQTT base topic's devices (`device_aliases`). A reject whose site cannot be
told is visible only to callers who see every site.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from psycopg.rows import TupleRow, class_row

from store.access.visibility import Visibility, Where

# The site a reject's topic belongs to, or NULL.
_SITE_OF_TOPIC = """
coalesce(
    CASE WHEN r.topic LIKE 'courtyard/v1/%%' THEN split_part(r.topic, '/', 3) END,
    (SELECT d.site_id FROM device_aliases da JOIN devices d ON d.id = da.device_id
     WHERE da.source = 'zigbee2mqtt:' || split_part(r.topic, '/', 1) LIMIT 1)
)
"""


@dataclass(frozen=True, slots=True)
class RejectRow:
    id: int
    received_at: datetime
    topic: str
    site_id: str | None
    payload_prefix: bytes
    payload_size: int
    reason: str


@dataclass(frozen=True, slots=True)
class ReasonCount:
    reason: str
    count: int
    last_at: datetime


def _where(
    visibility: Visibility,
    site_id: str | None,
    start: datetime | None,
    end: datetime | None,
) -> Where:
    where = Where()
    if visibility.households is not None:
        where.add("false")  # rejects are facility data: never a volunteer's
    elif visibility.sites is not None:
        where.add(f"{_SITE_OF_TOPIC} = ANY(%(v_sites)s::text[])", v_sites=sorted(visibility.sites))
    if site_id is not None:
        where.add(f"{_SITE_OF_TOPIC} = %(site)s", site=site_id)
    if start is not None:
        where.add("r.received_at >= %(start)s", start=start)
    if end is not None:
        where.add("r.received_at < %(end)s", end=end)
    return where


def count_received_within(conn: psycopg.Connection[TupleRow], window: timedelta) -> int:
    """Every reject received in the last `window` (by the database's clock), whatever its site."""
    row = conn.execute(
        "SELECT count(*) FROM rejected_messages WHERE received_at > now() - %s", (window,)
    ).fetchone()
    return int(row[0]) if row else 0


async def counts_by_reason(
    conn: psycopg.AsyncConnection[TupleRow],
    visibility: Visibility,
    *,
    site_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 100,
) -> list[ReasonCount]:
    where = _where(visibility, site_id, start, end)
    async with conn.cursor(row_factory=class_row(ReasonCount)) as cur:
        await cur.execute(
            f"""
            SELECT r.reason, count(*) AS count, max(r.received_at) AS last_at
            FROM rejected_messages r {where.sql()}
            GROUP BY r.reason ORDER BY count(*) DESC, r.reason LIMIT %(limit)s
            """,
            {**where.params, "limit": limit},
        )
        return await cur.fetchall()


async def list_rejects(
    conn: psycopg.AsyncConnection[TupleRow],
    visibility: Visibility,
    *,
    site_id: str | None = None,
    reason: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[RejectRow]:
    """Newest first; `before_id` is the last id of the previous page."""
    where = _where(visibility, site_id, start, end)
    if reason is not None:
        where.add("r.reason = %(reason)s", reason=reason)
    if before_id is not None:
        where.add("r.id < %(before)s", before=before_id)
    async with conn.cursor(row_factory=class_row(RejectRow)) as cur:
        await cur.execute(
            f"""
            SELECT r.id, r.received_at, r.topic, {_SITE_OF_TOPIC} AS site_id, r.payload_prefix,
                   r.payload_size, r.reason
            FROM rejected_messages r {where.sql()}
            ORDER BY r.id DESC LIMIT %(limit)s
            """,
            {**where.params, "limit": limit},
        )
        return await cur.fetchall()
