"""What the rules engine needs to know about places and devices: kinds, households, time zones.

A snapshot read in one transaction; the engine reloads it periodically (households and devices
are added while it runs). Household membership comes from `household_devices`, by device id, so
a household's sensors count before they first speak.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import time

import psycopg
from psycopg.rows import TupleRow, class_row


@dataclass(frozen=True, slots=True)
class SiteRow:
    id: str
    timezone: str


@dataclass(frozen=True, slots=True)
class DeviceRow:
    site_id: str
    device_key: str
    kind: str | None
    online: bool | None


@dataclass(frozen=True, slots=True)
class HouseholdRow:
    site_id: str
    id: str
    label: str
    #: Effective IANA zone: the household's own, else its site's.
    timezone: str
    quiet_start: time | None
    quiet_end: time | None
    devices: list[str]


def sites(conn: psycopg.Connection[TupleRow]) -> list[SiteRow]:
    with conn.cursor(row_factory=class_row(SiteRow)) as cur:
        return cur.execute("SELECT id, timezone FROM sites ORDER BY id").fetchall()


def devices(
    conn: psycopg.Connection[TupleRow], site_ids: Collection[str] | None = None
) -> list[DeviceRow]:
    with conn.cursor(row_factory=class_row(DeviceRow)) as cur:
        return cur.execute(
            """
            SELECT site_id, device_key, kind, online FROM devices
            WHERE %(sites)s::text[] IS NULL OR site_id = ANY(%(sites)s::text[])
            ORDER BY site_id, device_key
            """,
            {"sites": None if site_ids is None else list(site_ids)},
        ).fetchall()


def households(
    conn: psycopg.Connection[TupleRow], site_ids: Collection[str] | None = None
) -> list[HouseholdRow]:
    with conn.cursor(row_factory=class_row(HouseholdRow)) as cur:
        return cur.execute(
            """
            SELECT h.site_id, h.id, h.label, coalesce(h.timezone, s.timezone) AS timezone,
                   h.quiet_start, h.quiet_end,
                   coalesce(array_agg(hd.device_key ORDER BY hd.device_key)
                            FILTER (WHERE hd.device_key IS NOT NULL), '{}') AS devices
            FROM households h
            JOIN sites s ON s.id = h.site_id
            LEFT JOIN household_devices hd
                   ON hd.site_id = h.site_id AND hd.household_id = h.id
            WHERE %(sites)s::text[] IS NULL OR h.site_id = ANY(%(sites)s::text[])
            GROUP BY h.site_id, h.id, s.timezone
            ORDER BY h.site_id, h.id
            """,
            {"sites": None if site_ids is None else list(site_ids)},
        ).fetchall()
