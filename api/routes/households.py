"""Households: pseudonymous labels, their sensors, and residents' contact details.

Contact details are returned only to callers with `residents:read` who see the household
(its assigned volunteers, the site's managers, admins), and every such read is written to the
audit log before the answer leaves.
"""

from __future__ import annotations

from datetime import time

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from api.deps import DbConn, PlacesReader, PlacesWriter, Res
from api.errors import invalid, not_found
from api.params import HouseholdId, SiteFilter, SiteId
from api.resident_contact import audited_contact
from api.schemas.common import error_responses
from api.schemas.places import HouseholdBody, HouseholdDetail, HouseholdPublic
from store import server
from store.access import audit_log
from store.places import place_reads, provisioning
from store.places.place_reads import HouseholdRow

router = APIRouter(
    prefix="/households", tags=["places"], responses=error_responses(400, 401, 403, 422)
)


def household_public(row: HouseholdRow) -> HouseholdPublic:
    return HouseholdPublic(
        site_id=row.site_id,
        id=row.id,
        label=row.label,
        building_id=row.building_id,
        timezone=row.timezone,
        quiet_start=row.quiet_start,
        quiet_end=row.quiet_end,
        devices=row.devices,
    )


@router.get("", response_model=list[HouseholdPublic])
async def list_households(
    conn: DbConn, user: PlacesReader, site: SiteFilter = None
) -> list[HouseholdPublic]:
    """Households the caller may see (labels and sensors; no contact details)."""
    rows = await place_reads.list_households(conn, user.visibility, site_id=site)
    return [household_public(r) for r in rows]


@router.get(
    "/{site_id}/{household_id}", response_model=HouseholdDetail, responses=error_responses(404)
)
async def get_household(
    conn: DbConn, user: PlacesReader, site_id: SiteId, household_id: HouseholdId
) -> HouseholdDetail:
    """One household, with the resident's contact details for those allowed them (the read
    is audited)."""
    row = await place_reads.get_household(conn, user.visibility, site_id, household_id)
    if row is None:
        raise not_found("Household")
    contact = await audited_contact(conn, user, site_id, household_id, via=user.via)
    return HouseholdDetail(**household_public(row).model_dump(), contact=contact)


@router.put(
    "/{site_id}/{household_id}",
    response_model=HouseholdPublic,
    responses={201: {"model": HouseholdPublic, "description": "Created."}, **error_responses(404)},
)
async def put_household(
    conn: DbConn,
    res: Res,
    user: PlacesWriter,
    site_id: SiteId,
    household_id: HouseholdId,
    body: HouseholdBody,
    response: Response,
) -> HouseholdPublic:
    """Create a household or replace its label, building, zone, quiet hours, contact details
    and the device ids of its sensors (a device listed here leaves any other household)."""
    if not user.visibility.allows_site(site_id) or user.visibility.households is not None:
        raise not_found("Site")
    if not await place_reads.site_exists(conn, site_id):
        raise not_found("Site")
    if (body.quiet_start is None) != (body.quiet_end is None):
        raise invalid("body.quiet_end", "quiet_start and quiet_end go together")
    if body.building_id is not None and not await place_reads.building_exists(
        conn, site_id, body.building_id
    ):
        raise invalid("body.building_id", "no such building in this site")
    if body.timezone is not None and not await server.is_known_zone(conn, body.timezone):
        raise invalid("body.timezone", "not an IANA time zone the database knows")
    existed = await place_reads.get_household(conn, user.visibility, site_id, household_id)
    quiet: tuple[time, time] | None = None
    if body.quiet_start is not None and body.quiet_end is not None:
        quiet = (body.quiet_start, body.quiet_end)

    def write() -> None:
        with res.action_pool.connection() as c:
            provisioning.upsert_household(
                c,
                site_id,
                household_id,
                body.label,
                timezone=body.timezone,
                quiet=quiet,
                contact=body.contact,
                building_id=body.building_id,
            )
            provisioning.set_household_devices(c, site_id, household_id, body.devices)

    await run_in_threadpool(write)
    await audit_log.record(
        conn,
        actor=user.actor,
        action="household.write",
        target=f"household:{site_id}/{household_id}",
        site_id=site_id,
    )
    row = await place_reads.get_household(conn, user.visibility, site_id, household_id)
    assert row is not None
    if existed is None:
        response.status_code = 201
    return household_public(row)
