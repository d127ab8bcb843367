"""Sites and their buildings, households and their devices, and the people who look after
them: upserts used to provision a community (from a simulator scenario, a setup file, or the
API)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import time

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb


def upsert_site(
    conn: psycopg.Connection[TupleRow], site_id: str, name: str | None, timezone: str
) -> None:
    conn.execute(
        """
        INSERT INTO sites (id, name, timezone) VALUES (%s, %s, %s)
        ON CONFLICT (id) DO UPDATE SET name = excluded.name, timezone = excluded.timezone
        """,
        (site_id, name, timezone),
    )


def upsert_building(
    conn: psycopg.Connection[TupleRow],
    site_id: str,
    building_id: str,
    name: str,
    floors: int | None = None,
) -> None:
    conn.execute(
        """
        INSERT INTO buildings (site_id, id, name, floors) VALUES (%s, %s, %s, %s)
        ON CONFLICT (site_id, id) DO UPDATE SET name = excluded.name, floors = excluded.floors
        """,
        (site_id, building_id, name, floors),
    )


def upsert_household(
    conn: psycopg.Connection[TupleRow],
    site_id: str,
    household_id: str,
    label: str,
    *,
    timezone: str | None = None,
    quiet: tuple[time, time] | None = None,
    contact: Mapping[str, object] | None = None,
    building_id: str | None = None,
) -> None:
    """Create or replace the household (every field: None clears it). `building_id` names a
    building of the same site."""
    start, end = quiet if quiet is not None else (None, None)
    conn.execute(
        """
        INSERT INTO households (site_id, id, label, timezone, quiet_start, quiet_end, contact,
                                building_id)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (site_id, id) DO UPDATE SET
            label = excluded.label, timezone = excluded.timezone,
            quiet_start = excluded.quiet_start, quiet_end = excluded.quiet_end,
            contact = excluded.contact, building_id = excluded.building_id
        """,
        (
            site_id,
            household_id,
            label,
            timezone,
            start,
            end,
            Jsonb(dict(contact or {})),
            building_id,
        ),
    )


def set_household_devices(
    conn: psycopg.Connection[TupleRow], site_id: str, household_id: str, devices: Collection[str]
) -> None:
    """Make `devices` exactly the household's devices (a device moves if it was elsewhere)."""
    conn.execute(
        "DELETE FROM household_devices WHERE site_id = %s AND household_id = %s "
        "AND NOT device_key = ANY(%s::text[])",
        (site_id, household_id, list(devices)),
    )
    conn.execute(
        """
        INSERT INTO household_devices (site_id, device_key, household_id)
        SELECT %s, unnest(%s::text[]), %s
        ON CONFLICT (site_id, device_key) DO UPDATE SET household_id = excluded.household_id
        """,
        (site_id, sorted(devices), household_id),
    )


def set_household_roles(
    conn: psycopg.Connection[TupleRow],
    site_id: str,
    roles: Mapping[str, tuple[str, str | None]],
) -> None:
    """Give household devices the role (and room) their installer says they play, where no one
    gave them one yet: a role a manager changed since is kept."""
    conn.cursor().executemany(
        """
        UPDATE household_devices SET role = %s, role_room = %s
        WHERE site_id = %s AND device_key = %s AND role IS NULL
        """,
        [(role, room, site_id, device) for device, (role, room) in sorted(roles.items())],
    )


def upsert_person(
    conn: psycopg.Connection[TupleRow],
    person_id: str,
    name: str,
    kind: str,
    *,
    language: str = "zh-CN",
    channels: Mapping[str, object] | None = None,
) -> None:
    conn.execute(
        """
        INSERT INTO people (id, name, kind, language, channels) VALUES (%s, %s, %s, %s, %s)
        ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind,
            language = excluded.language, channels = excluded.channels
        """,
        (person_id, name, kind, language, Jsonb(dict(channels or {}))),
    )


def assign(
    conn: psycopg.Connection[TupleRow],
    person_id: str,
    site_id: str,
    role: str,
    household_id: str | None = None,
) -> None:
    """Give a person a role: primary/backup for a household, staff/manager for a site."""
    conn.execute(
        """
        INSERT INTO assignments (person_id, site_id, household_id, role) VALUES (%s, %s, %s, %s)
        ON CONFLICT (person_id, site_id, household_id, role) DO NOTHING
        """,
        (person_id, site_id, household_id, role),
    )
