"""Sites, buildings, households, people and assignments for the API, narrowed to a Visibility.

Households' contact details are read only by `household_contact`: the API writes an audit
record for every call. Writes are store.places.provisioning' upserts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

import psycopg
from psycopg.rows import TupleRow, class_row

from store.access.visibility import Visibility, Where, visible_households, visible_sites


@dataclass(frozen=True, slots=True)
class SiteRow:
    id: str
    name: str | None
    timezone: str
    created_at: datetime
    devices: int
    households: int


@dataclass(frozen=True, slots=True)
class BuildingRow:
    site_id: str
    id: str
    name: str
    floors: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class HouseholdRow:
    site_id: str
    id: str
    label: str
    building_id: str | None
    timezone: str | None
    quiet_start: time | None
    quiet_end: time | None
    devices: list[str]


@dataclass(frozen=True, slots=True)
class PersonRow:
    id: str
    name: str
    kind: str
    language: str
    active: bool
    channels: dict[str, object]


@dataclass(frozen=True, slots=True)
class AssignmentRow:
    id: int
    person_id: str
    site_id: str
    household_id: str | None
    role: str


async def list_sites(
    conn: psycopg.AsyncConnection[TupleRow], visibility: Visibility
) -> list[SiteRow]:
    where = Where()
    visible_sites(where, visibility, "s.id")
    return await _sites(conn, where)


async def get_site(
    conn: psycopg.AsyncConnection[TupleRow], visibility: Visibility, site_id: str
) -> SiteRow | None:
    where = Where()
    where.add("s.id = %(id)s", id=site_id)
    visible_sites(where, visibility, "s.id")
    rows = await _sites(conn, where)
    return rows[0] if rows else None


async def _sites(conn: psycopg.AsyncConnection[TupleRow], where: Where) -> list[SiteRow]:
    async with conn.cursor(row_factory=class_row(SiteRow)) as cur:
        await cur.execute(
            f"""
            SELECT s.id, s.name, s.timezone, s.created_at,
                   (SELECT count(*) FROM devices d WHERE d.site_id = s.id) AS devices,
                   (SELECT count(*) FROM households h WHERE h.site_id = s.id) AS households
            FROM sites s {where.sql()} ORDER BY s.id
            """,
            where.params,
        )
        return await cur.fetchall()


async def site_exists(conn: psycopg.AsyncConnection[TupleRow], site_id: str) -> bool:
    cur = await conn.execute("SELECT 1 FROM sites WHERE id = %s", (site_id,))
    return await cur.fetchone() is not None


async def site_timezone(conn: psycopg.AsyncConnection[TupleRow], site_id: str) -> str:
    cur = await conn.execute("SELECT timezone FROM sites WHERE id = %s", (site_id,))
    row = await cur.fetchone()
    return "UTC" if row is None else str(row[0])


def _visible_buildings(where: Where, visibility: Visibility) -> None:
    """A manager sees their sites' buildings; a volunteer only those their households are in."""
    visible_sites(where, visibility, "b.site_id")
    if visibility.households is not None:
        where.add(
            """EXISTS (SELECT 1 FROM households bh WHERE bh.site_id = b.site_id
               AND bh.building_id = b.id AND (bh.site_id, bh.id) IN (
                   SELECT * FROM unnest(%(v_b_sites)s::text[], %(v_b_ids)s::text[])))""",
            v_b_sites=[s for s, _ in sorted(visibility.households)],
            v_b_ids=[h for _, h in sorted(visibility.households)],
        )


_BUILDING_COLUMNS = "b.site_id, b.id, b.name, b.floors, b.created_at"


async def list_buildings(
    conn: psycopg.AsyncConnection[TupleRow],
    visibility: Visibility,
    *,
    site_id: str | None = None,
) -> list[BuildingRow]:
    where = Where()
    _visible_buildings(where, visibility)
    if site_id is not None:
        where.add("b.site_id = %(site)s", site=site_id)
    async with conn.cursor(row_factory=class_row(BuildingRow)) as cur:
        await cur.execute(
            f"SELECT {_BUILDING_COLUMNS} FROM buildings b {where.sql()} ORDER BY 1, 2",
            where.params,
        )
        return await cur.fetchall()


async def get_building(
    conn: psycopg.AsyncConnection[TupleRow],
    visibility: Visibility,
    site_id: str,
    building_id: str,
) -> BuildingRow | None:
    where = Where()
    where.add("b.site_id = %(site)s AND b.id = %(id)s", site=site_id, id=building_id)
    _visible_buildings(where, visibility)
    async with conn.cursor(row_factory=class_row(BuildingRow)) as cur:
        await cur.execute(
            f"SELECT {_BUILDING_COLUMNS} FROM buildings b {where.sql()}", where.params
        )
        return await cur.fetchone()


async def building_exists(
    conn: psycopg.AsyncConnection[TupleRow], site_id: str, building_id: str
) -> bool:
    cur = await conn.execute(
        "SELECT 1 FROM buildings WHERE site_id = %s AND id = %s", (site_id, building_id)
    )
    return await cur.fetchone() is not None


_HOUSEHOLD_COLUMNS = """
    h.site_id, h.id, h.label, h.building_id, h.timezone, h.quiet_start, h.quiet_end,
    coalesce((SELECT array_agg(hd.device_key ORDER BY hd.device_key) FROM household_devices hd
              WHERE hd.site_id = h.site_id AND hd.household_id = h.id), '{}') AS devices
"""


async def list_households(
    conn: psycopg.AsyncConnection[TupleRow],
    visibility: Visibility,
    *,
    site_id: str | None = None,
    building_id: str | None = None,
) -> list[HouseholdRow]:
    where = Where()
    visible_households(where, visibility)
    if site_id is not None:
        where.add("h.site_id = %(site)s", site=site_id)
    if building_id is not None:
        where.add("h.building_id = %(building)s", building=building_id)
    async with conn.cursor(row_factory=class_row(HouseholdRow)) as cur:
        await cur.execute(
            f"SELECT {_HOUSEHOLD_COLUMNS} FROM households h {where.sql()} ORDER BY 1, 2",
            where.params,
        )
        return await cur.fetchall()


async def get_household(
    conn: psycopg.AsyncConnection[TupleRow],
    visibility: Visibility,
    site_id: str,
    household_id: str,
) -> HouseholdRow | None:
    where = Where()
    where.add("h.site_id = %(site)s AND h.id = %(id)s", site=site_id, id=household_id)
    visible_households(where, visibility)
    async with conn.cursor(row_factory=class_row(HouseholdRow)) as cur:
        await cur.execute(
            f"SELECT {_HOUSEHOLD_COLUMNS} FROM households h {where.sql()}", where.params
        )
        return await cur.fetchone()


async def household_contact(
    conn: psycopg.AsyncConnection[TupleRow], site_id: str, household_id: str
) -> dict[str, object]:
    """The resident's contact details. Callers check visibility first and audit the read."""
    cur = await conn.execute(
        "SELECT contact FROM households WHERE site_id = %s AND id = %s", (site_id, household_id)
    )
    row = await cur.fetchone()
    return {} if row is None else dict(row[0])


def _visible_people(where: Where, visibility: Visibility) -> None:
    if visibility.all_sites:
        return
    if visibility.households is not None:
        sites = [s for s, _ in sorted(visibility.households)]
        ids = [h for _, h in sorted(visibility.households)]
        where.add(
            """EXISTS (SELECT 1 FROM assignments pa WHERE pa.person_id = p.id
               AND (pa.site_id, pa.household_id) IN (
                   SELECT * FROM unnest(%(v_p_sites)s::text[], %(v_p_ids)s::text[])))""",
            v_p_sites=sites,
            v_p_ids=ids,
        )
    else:
        where.add(
            """EXISTS (SELECT 1 FROM assignments pa WHERE pa.person_id = p.id
               AND pa.site_id = ANY(%(v_p_sites)s::text[]))""",
            v_p_sites=sorted(visibility.sites or ()),
        )


async def list_people(
    conn: psycopg.AsyncConnection[TupleRow], visibility: Visibility
) -> list[PersonRow]:
    where = Where()
    _visible_people(where, visibility)
    async with conn.cursor(row_factory=class_row(PersonRow)) as cur:
        await cur.execute(
            "SELECT p.id, p.name, p.kind, p.language, p.active, p.channels"
            f" FROM people p {where.sql()} ORDER BY p.id",
            where.params,
        )
        return await cur.fetchall()


async def get_person(
    conn: psycopg.AsyncConnection[TupleRow], visibility: Visibility, person_id: str
) -> PersonRow | None:
    where = Where()
    where.add("p.id = %(id)s", id=person_id)
    _visible_people(where, visibility)
    async with conn.cursor(row_factory=class_row(PersonRow)) as cur:
        await cur.execute(
            "SELECT p.id, p.name, p.kind, p.language, p.active, p.channels"
            f" FROM people p {where.sql()}",
            where.params,
        )
        return await cur.fetchone()


def _visible_assignments(where: Where, visibility: Visibility) -> None:
    if visibility.sites is not None:
        where.add("a.site_id = ANY(%(v_sites)s::text[])", v_sites=sorted(visibility.sites))
    if visibility.households is not None:
        sites = [s for s, _ in sorted(visibility.households)]
        ids = [h for _, h in sorted(visibility.households)]
        where.add(
            """(a.site_id, a.household_id) IN (
                SELECT * FROM unnest(%(v_hh_sites)s::text[], %(v_hh_ids)s::text[]))""",
            v_hh_sites=sites,
            v_hh_ids=ids,
        )


async def list_assignments(
    conn: psycopg.AsyncConnection[TupleRow],
    visibility: Visibility,
    *,
    site_id: str | None = None,
    household_id: str | None = None,
    person_id: str | None = None,
) -> list[AssignmentRow]:
    where = Where()
    _visible_assignments(where, visibility)
    if site_id is not None:
        where.add("a.site_id = %(site)s", site=site_id)
    if household_id is not None:
        where.add("a.household_id = %(household)s", household=household_id)
    if person_id is not None:
        where.add("a.person_id = %(person)s", person=person_id)
    async with conn.cursor(row_factory=class_row(AssignmentRow)) as cur:
        await cur.execute(
            "SELECT a.id, a.person_id, a.site_id, a.household_id, a.role"
            f" FROM assignments a {where.sql()} ORDER BY a.site_id, a.household_id, a.id",
            where.params,
        )
        return await cur.fetchall()


async def has_assignment_at_site(
    conn: psycopg.AsyncConnection[TupleRow], person_id: str, site_id: str
) -> bool:
    """Whether the person has any assignment (of any role, any household) at the site: who an
    alert there may be assigned to."""
    cur = await conn.execute(
        "SELECT 1 FROM assignments WHERE person_id = %s AND site_id = %s LIMIT 1",
        (person_id, site_id),
    )
    return await cur.fetchone() is not None


async def get_assignment(
    conn: psycopg.AsyncConnection[TupleRow], visibility: Visibility, assignment_id: int
) -> AssignmentRow | None:
    where = Where()
    where.add("a.id = %(id)s", id=assignment_id)
    _visible_assignments(where, visibility)
    async with conn.cursor(row_factory=class_row(AssignmentRow)) as cur:
        await cur.execute(
            "SELECT a.id, a.person_id, a.site_id, a.household_id, a.role"
            f" FROM assignments a {where.sql()}",
            where.params,
        )
        return await cur.fetchone()


async def create_assignment(
    conn: psycopg.AsyncConnection[TupleRow],
    person_id: str,
    site_id: str,
    household_id: str | None,
    role: str,
) -> AssignmentRow:
    """Create the assignment, or return the same one if it exists already."""
    async with conn.cursor(row_factory=class_row(AssignmentRow)) as cur:
        await cur.execute(
            """
            WITH ins AS (
                INSERT INTO assignments (person_id, site_id, household_id, role)
                VALUES (%(person)s, %(site)s, %(household)s, %(role)s)
                ON CONFLICT (person_id, site_id, household_id, role) DO NOTHING
                RETURNING id, person_id, site_id, household_id, role
            )
            SELECT * FROM ins
            UNION ALL
            SELECT id, person_id, site_id, household_id, role FROM assignments
            WHERE person_id = %(person)s AND site_id = %(site)s
              AND household_id IS NOT DISTINCT FROM %(household)s AND role = %(role)s
            LIMIT 1
            """,
            {"person": person_id, "site": site_id, "household": household_id, "role": role},
        )
        row = await cur.fetchone()
    assert row is not None
    return row


async def delete_assignment(conn: psycopg.AsyncConnection[TupleRow], assignment_id: int) -> None:
    await conn.execute("DELETE FROM assignments WHERE id = %s", (assignment_id,))
