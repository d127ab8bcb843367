"""People (volunteers, staff, managers) and their assignments to households and sites.

A manager sees the people assigned at their sites, and may assign only those (or a person they
create, with the person's first assignment): a person of another site is "no such person", the
same answer as an id that does not exist. Every change of a person or an assignment is written
to the audit log with who made it; a channel change names the channels, never their secrets.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from api.auth.principals import Permission, Principal
from api.channel_destinations import refuse_unreachable
from api.deps import DbConn, PlacesReader, PlacesWriter, Res
from api.errors import invalid, not_found
from api.params import AssignmentId, HouseholdFilter, PersonId, SiteFilter
from api.schemas.common import ID_PATTERN, error_responses
from api.schemas.places import (
    AssignmentBody,
    AssignmentPublic,
    FirstAssignment,
    NewPersonBody,
    PersonBody,
    PersonPublic,
)
from store.access import audit_log
from store.access.visibility import Visibility
from store.places import place_reads, provisioning
from store.places.place_reads import AssignmentRow, PersonRow

router = APIRouter(tags=["places"], responses=error_responses(400, 401, 403, 422))


def person_public(row: PersonRow, user: Principal) -> PersonPublic:
    return PersonPublic(
        id=row.id,
        name=row.name,
        kind=row.kind,  # type: ignore[arg-type]  # CHECK-constrained codes
        language=row.language,  # type: ignore[arg-type]
        active=row.active,
        channels=row.channels if user.can(Permission.PLACES_WRITE) else None,
    )


def assignment_public(row: AssignmentRow) -> AssignmentPublic:
    return AssignmentPublic(
        id=row.id,
        person_id=row.person_id,
        site_id=row.site_id,
        household_id=row.household_id,
        role=row.role,  # type: ignore[arg-type]
    )


@router.get("/people", response_model=list[PersonPublic])
async def list_people(conn: DbConn, user: PlacesReader) -> list[PersonPublic]:
    """People assigned at the sites (or, for volunteers, the households) the caller sees."""
    return [person_public(r, user) for r in await place_reads.list_people(conn, user.visibility)]


@router.get("/people/{person_id}", response_model=PersonPublic, responses=error_responses(404))
async def get_person(conn: DbConn, user: PlacesReader, person_id: PersonId) -> PersonPublic:
    """One person."""
    row = await place_reads.get_person(conn, user.visibility, person_id)
    if row is None:
        raise not_found("Person")
    return person_public(row, user)


def _write_person(
    res: Res, person_id: str, body: PersonBody, first: FirstAssignment | None = None
) -> None:
    refuse_unreachable(res.settings, body.channels)  # 422: a URL aimed inside the network
    with res.action_pool.connection() as c:
        provisioning.upsert_person(
            c, person_id, body.name, body.kind, language=body.language, channels=body.channels
        )
        if first is not None:
            provisioning.assign(c, person_id, first.site_id, first.role, first.household_id)


def _changed_channels(before: dict[str, object], after: dict[str, object]) -> list[str]:
    """The names of the channels added, removed or changed (their values hold secrets)."""
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


@router.post("/people", response_model=PersonPublic, status_code=201)
async def create_person(
    conn: DbConn, res: Res, user: PlacesWriter, body: NewPersonBody
) -> PersonPublic:
    """Add a person, with their first assignment (required of callers who do not see every
    site); the id is chosen by the server."""
    first = body.assignment
    if first is None and not user.visibility.all_sites:
        raise invalid("body.assignment", "required: you see only the people assigned at your sites")
    if first is not None:
        await _check_assignment(conn, user, first)
    person_id = f"p-{secrets.token_hex(6)}"
    await run_in_threadpool(_write_person, res, person_id, body, first)
    await audit_log.record(
        conn,
        actor=user.actor,
        action="person.create",
        target=f"person:{person_id}",
        site_id=None if first is None else first.site_id,
        details={"channels": sorted(body.channels)},
    )
    if first is not None:
        await _audit_assignment(conn, user, "assignment.create", person_id, first)
    # Read back past the caller's visibility: they have just created this person.
    row = await place_reads.get_person(conn, Visibility.everything(), person_id)
    assert row is not None
    return person_public(row, user)


@router.put("/people/{person_id}", response_model=PersonPublic, responses=error_responses(404))
async def update_person(
    conn: DbConn, res: Res, user: PlacesWriter, person_id: PersonId, body: PersonBody
) -> PersonPublic:
    """Change a person the caller sees (name, kind, language, notification channels)."""
    before = await place_reads.get_person(conn, user.visibility, person_id)
    if before is None:
        raise not_found("Person")
    await run_in_threadpool(_write_person, res, person_id, body)
    await audit_log.record(
        conn,
        actor=user.actor,
        action="person.write",
        target=f"person:{person_id}",
        details={"channels_changed": _changed_channels(before.channels, body.channels)},
    )
    row = await place_reads.get_person(conn, user.visibility, person_id)
    assert row is not None
    return person_public(row, user)


@router.get("/assignments", response_model=list[AssignmentPublic])
async def list_assignments(
    conn: DbConn,
    user: PlacesReader,
    site: SiteFilter = None,
    household: HouseholdFilter = None,
    person: Annotated[
        str | None, Query(pattern=ID_PATTERN, description="Only this person.")
    ] = None,
) -> list[AssignmentPublic]:
    """Who looks after what: volunteers (primary, backup) of households, staff and managers
    of sites. Filter by site, household or person."""
    rows = await place_reads.list_assignments(
        conn, user.visibility, site_id=site, household_id=household, person_id=person
    )
    return [assignment_public(r) for r in rows]


@router.post(
    "/assignments",
    response_model=AssignmentPublic,
    status_code=201,
    responses=error_responses(404),
)
async def create_assignment(
    conn: DbConn, user: PlacesWriter, body: AssignmentBody
) -> AssignmentPublic:
    """Assign a person the caller sees (one assigned at a site they manage): `primary`/`backup`
    volunteer of a household (escalation tiers 1 and 2), or `staff`/`manager` of a site.
    Assigning twice returns the same assignment."""
    await _check_assignment(conn, user, body)
    # The same answer as for an id that does not exist: nothing tells a person of another
    # site from no person at all.
    if await place_reads.get_person(conn, user.visibility, body.person_id) is None:
        raise invalid("body.person_id", "no such person")
    async with conn.transaction():
        row = await place_reads.create_assignment(
            conn, body.person_id, body.site_id, body.household_id, body.role
        )
        await _audit_assignment(conn, user, "assignment.create", body.person_id, body, row.id)
    return assignment_public(row)


async def _check_assignment(conn: DbConn, user: Principal, body: FirstAssignment) -> None:
    """A site the caller manages, and a household of it for the household roles."""
    site_ok = user.visibility.allows_site(body.site_id) and user.visibility.households is None
    if not site_ok or not await place_reads.site_exists(conn, body.site_id):
        raise invalid("body.site_id", "no such site")
    household_role = body.role in ("primary", "backup")
    if household_role != (body.household_id is not None):
        raise invalid("body.household_id", "required for primary and backup, absent otherwise")
    if (
        body.household_id is not None
        and await place_reads.get_household(conn, user.visibility, body.site_id, body.household_id)
        is None
    ):
        raise invalid("body.household_id", "no such household at this site")


async def _audit_assignment(
    conn: DbConn,
    user: Principal,
    action: str,
    person_id: str,
    body: FirstAssignment | AssignmentRow,
    assignment_id: int | None = None,
) -> None:
    await audit_log.record(
        conn,
        actor=user.actor,
        action=action,
        target=f"person:{person_id}",
        site_id=body.site_id,
        details={
            "assignment": assignment_id,
            "role": body.role,
            "household": body.household_id,
        },
    )


@router.delete("/assignments/{assignment_id}", status_code=204, responses=error_responses(404))
async def delete_assignment(
    conn: DbConn, user: PlacesWriter, assignment_id: AssignmentId
) -> Response:
    """Remove an assignment at a site the caller manages."""
    row = await place_reads.get_assignment(conn, user.visibility, assignment_id)
    if row is None or user.visibility.households is not None:
        raise not_found("Assignment")
    async with conn.transaction():
        await place_reads.delete_assignment(conn, assignment_id)
        await _audit_assignment(conn, user, "assignment.delete", row.person_id, row, row.id)
    return Response(status_code=204)
