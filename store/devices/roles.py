"""Household devices with the role each plays (people's, else the suggestion), for the rules
that must know a front door from a fridge door and a bed from a motion sensor."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import psycopg
from psycopg.rows import TupleRow, class_row


@dataclass(frozen=True, slots=True)
class HouseholdDeviceRole:
    site_id: str
    household_id: str
    device_key: str
    #: None: nothing known of it (a device listed before it spoke, with no role given).
    role: str | None
    role_room: str | None
    #: A person set it; otherwise it is Courtyard's suggestion.
    role_confirmed: bool


def household_roles(
    conn: psycopg.Connection[TupleRow], site_ids: Collection[str] | None = None
) -> list[HouseholdDeviceRole]:
    """Every household device of the sites (None: all) with its role, by site, household, id."""
    with conn.cursor(row_factory=class_row(HouseholdDeviceRole)) as cur:
        return cur.execute(
            """
            SELECT site_id, household_id, device_key, role, role_room, role_confirmed
            FROM household_device_roles
            WHERE %(sites)s::text[] IS NULL OR site_id = ANY(%(sites)s::text[])
            ORDER BY site_id, household_id, device_key
            """,
            {"sites": None if site_ids is None else list(site_ids)},
        ).fetchall()
