"""Households at a glance for the dashboard: each visible household's sensors, how many are
offline, when one was last heard from, and its open alerts, narrowed to a Visibility."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import TupleRow, class_row

from store.access.visibility import Visibility, Where, visible_alerts, visible_households


@dataclass(frozen=True, slots=True)
class HouseholdState:
    site_id: str
    id: str
    label: str
    #: The household's own IANA zone, else its site's.
    timezone: str
    sensors: int
    #: Sensors offline: by their status messages, else judged from their data (device_state()).
    offline: int
    #: The last time any of its sensors was heard from.
    last_seen: datetime | None
    #: Unresolved alerts about it (of the categories the caller may see).
    open_alerts: int


async def household_states(
    conn: psycopg.AsyncConnection[TupleRow], visibility: Visibility
) -> list[HouseholdState]:
    where = Where()
    visible_households(where, visibility)
    alerts_where = Where()
    alerts_where.add("a.site_id = h.site_id AND a.household_id = h.id AND a.status <> 'resolved'")
    visible_alerts(alerts_where, visibility)
    async with conn.cursor(row_factory=class_row(HouseholdState)) as cur:
        await cur.execute(
            f"""
            SELECT h.site_id, h.id, h.label, coalesce(h.timezone, s.timezone) AS timezone,
                   coalesce(d.sensors, 0) AS sensors, coalesce(d.offline, 0) AS offline,
                   d.last_seen,
                   (SELECT count(*) FROM alerts a {alerts_where.sql()}) AS open_alerts
            FROM households h
            JOIN sites s ON s.id = h.site_id
            LEFT JOIN LATERAL (
                SELECT count(*) AS sensors,
                       count(*) FILTER (WHERE device_state(dv) = 'offline') AS offline,
                       max(dv.last_seen) AS last_seen
                FROM household_devices hd
                LEFT JOIN devices dv ON dv.site_id = hd.site_id AND dv.device_key = hd.device_key
                WHERE hd.site_id = h.site_id AND hd.household_id = h.id
            ) d ON true
            {where.sql()}
            ORDER BY h.site_id, h.label, h.id
            """,
            {**where.params, **alerts_where.params},
        )
        return await cur.fetchall()


async def zone_of(
    conn: psycopg.AsyncConnection[TupleRow], site_id: str, household_id: str | None
) -> str:
    """The IANA zone people at this site (or household) live by; UTC for an unknown site."""
    cur = await conn.execute(
        """
        SELECT coalesce((SELECT h.timezone FROM households h
                         WHERE h.site_id = s.id AND h.id = %s), s.timezone)
        FROM sites s WHERE s.id = %s
        """,
        (household_id, site_id),
    )
    row = await cur.fetchone()
    return "UTC" if row is None else str(row[0])
