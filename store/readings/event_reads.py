"""Events for the API: filters and keyset pages (newest first), narrowed to a Visibility."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import TupleRow, class_row

from store.access.visibility import Visibility, Where, visible_devices


@dataclass(frozen=True, slots=True)
class EventRow:
    device_id: int
    site_id: str
    device_key: str
    ts: datetime
    type: str
    subject: str
    attrs: dict[str, object]


#: The position of an event in the newest-first order: (ts, device id, type, subject).
EventKey = tuple[datetime, int, str, str]


async def list_events(
    conn: psycopg.AsyncConnection[TupleRow],
    visibility: Visibility,
    *,
    site_id: str | None = None,
    device_id: int | None = None,
    household_id: str | None = None,
    event_type: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    before: EventKey | None = None,
    limit: int = 100,
) -> list[EventRow]:
    where = Where()
    visible_devices(where, visibility)
    if site_id is not None:
        where.add("d.site_id = %(site)s", site=site_id)
    if device_id is not None:
        where.add("e.device_id = %(device)s", device=device_id)
    if household_id is not None:
        where.add(
            """EXISTS (SELECT 1 FROM household_devices hd WHERE hd.site_id = d.site_id
               AND hd.device_key = d.device_key AND hd.household_id = %(household)s)""",
            household=household_id,
        )
    if event_type is not None:
        where.add("e.type = %(type)s", type=event_type)
    if start is not None:
        where.add("e.ts >= %(start)s", start=start)
    if end is not None:
        where.add("e.ts < %(end)s", end=end)
    if before is not None:
        where.add(
            "(e.ts, e.device_id, e.type, e.subject) < (%(b_ts)s, %(b_dev)s, %(b_type)s, %(b_sub)s)",
            b_ts=before[0],
            b_dev=before[1],
            b_type=before[2],
            b_sub=before[3],
        )
    async with conn.cursor(row_factory=class_row(EventRow)) as cur:
        await cur.execute(
            f"""
            SELECT e.device_id, d.site_id, d.device_key, e.ts, e.type, e.subject, e.attrs
            FROM events e JOIN devices d ON d.id = e.device_id
            {where.sql()}
            ORDER BY e.ts DESC, e.device_id DESC, e.type DESC, e.subject DESC
            LIMIT %(limit)s
            """,
            {**where.params, "limit": limit},
        )
        return await cur.fetchall()


async def event_types_of(conn: psycopg.AsyncConnection[TupleRow], device_id: int) -> list[str]:
    """The event types a device has ever sent, alphabetically (the callers checked it is
    visible)."""
    cur = await conn.execute(
        "SELECT DISTINCT type FROM events WHERE device_id = %s ORDER BY 1", (device_id,)
    )
    return [str(r[0]) for r in await cur.fetchall()]
