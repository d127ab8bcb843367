"""Sites and households as the terminal edits them (`courtyard sites|households`): synchronous
reads of their current facts and the checks the API makes before its upserts (a zone the
server knows, a building of the site). Writes are store.places.provisioning' upserts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

import psycopg
from psycopg.rows import TupleRow, class_row


@dataclass(frozen=True, slots=True)
class SiteFacts:
    id: str
    name: str | None
    timezone: str
    #: NULL: the platform default.
    language: str | None


@dataclass(frozen=True, slots=True)
class HouseholdFacts:
    site_id: str
    id: str
    label: str
    building_id: str | None
    #: NULL: the site's.
    timezone: str | None
    quiet_start: time | None
    quiet_end: time | None
    contact: dict[str, object]


_SITE = "SELECT id, name, timezone, language FROM sites"
_HOUSEHOLD = (
    "SELECT site_id, id, label, building_id, timezone, quiet_start, quiet_end, contact"
    " FROM households"
)


def sites(conn: psycopg.Connection[TupleRow]) -> list[SiteFacts]:
    with conn.cursor(row_factory=class_row(SiteFacts)) as cur:
        return cur.execute(f"{_SITE} ORDER BY id").fetchall()


def site(conn: psycopg.Connection[TupleRow], site_id: str) -> SiteFacts | None:
    with conn.cursor(row_factory=class_row(SiteFacts)) as cur:
        return cur.execute(f"{_SITE} WHERE id = %s", (site_id,)).fetchone()


def households(conn: psycopg.Connection[TupleRow], site_id: str) -> list[HouseholdFacts]:
    with conn.cursor(row_factory=class_row(HouseholdFacts)) as cur:
        return cur.execute(f"{_HOUSEHOLD} WHERE site_id = %s ORDER BY id", (site_id,)).fetchall()


def household(
    conn: psycopg.Connection[TupleRow], site_id: str, household_id: str
) -> HouseholdFacts | None:
    with conn.cursor(row_factory=class_row(HouseholdFacts)) as cur:
        return cur.execute(
            f"{_HOUSEHOLD} WHERE site_id = %s AND id = %s", (site_id, household_id)
        ).fetchone()


def set_site_language(
    conn: psycopg.Connection[TupleRow], site_id: str, language: str | None
) -> None:
    conn.execute("UPDATE sites SET language = %s WHERE id = %s", (language, site_id))


def default_zone(conn: psycopg.Connection[TupleRow]) -> str:
    """The zone a new site takes unless told (site_defaults, from the locale settings)."""
    row = conn.execute(
        "SELECT coalesce((SELECT timezone FROM site_defaults), 'Asia/Shanghai')"
    ).fetchone()
    assert row is not None
    return str(row[0])


def is_known_zone(conn: psycopg.Connection[TupleRow], name: str) -> bool:
    """store.server.is_known_zone for synchronous callers."""
    row = conn.execute("SELECT 1 FROM pg_timezone_names WHERE name = %s", (name,)).fetchone()
    return row is not None


def building_exists(conn: psycopg.Connection[TupleRow], site_id: str, building_id: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM buildings WHERE site_id = %s AND id = %s", (site_id, building_id)
    ).fetchone()
    return row is not None
