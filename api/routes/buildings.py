"""Buildings of a site: list, detail with their households, create or update.

Managers see their sites' buildings; volunteers only the buildings their households are in.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from starlette.concurrency import run_in_threadpool

from api.deps import DbConn, PlacesReader, PlacesWriter, Res
from api.errors import not_found
from api.params import SiteFilter, SiteId
from api.routes.households import household_public
from api.schemas.common import ID_PATTERN, error_responses
from api.schemas.places import BuildingBody, BuildingDetail, BuildingPublic
from store.access import audit_log
from store.places import place_reads, provisioning
from store.places.place_reads import BuildingRow

BuildingId = Annotated[str, Path(pattern=ID_PATTERN, description="A building id (per site).")]

router = APIRouter(
    prefix="/buildings", tags=["places"], responses=error_responses(400, 401, 403, 422)
)


def building_public(row: BuildingRow) -> BuildingPublic:
    return BuildingPublic(
        site_id=row.site_id,
        id=row.id,
        name=row.name,
        floors=row.floors,
        created_at=row.created_at,
    )


@router.get("", response_model=list[BuildingPublic])
async def list_buildings(
    conn: DbConn, user: PlacesReader, site: SiteFilter = None
) -> list[BuildingPublic]:
    """Buildings the caller may see: a manager's sites' buildings, a volunteer's households'."""
    rows = await place_reads.list_buildings(conn, user.visibility, site_id=site)
    return [building_public(r) for r in rows]


@router.get(
    "/{site_id}/{building_id}", response_model=BuildingDetail, responses=error_responses(404)
)
async def get_building(
    conn: DbConn, user: PlacesReader, site_id: SiteId, building_id: BuildingId
) -> BuildingDetail:
    """One building, with those of its households the caller may see (labels and sensors; no
    contact details)."""
    row = await place_reads.get_building(conn, user.visibility, site_id, building_id)
    if row is None:
        raise not_found("Building")
    households = await place_reads.list_households(
        conn, user.visibility, site_id=site_id, building_id=building_id
    )
    return BuildingDetail(
        **building_public(row).model_dump(),
        households=[household_public(h) for h in households],
    )


@router.put(
    "/{site_id}/{building_id}",
    response_model=BuildingPublic,
    responses={201: {"model": BuildingPublic, "description": "Created."}, **error_responses(404)},
)
async def put_building(
    conn: DbConn,
    res: Res,
    user: PlacesWriter,
    site_id: SiteId,
    building_id: BuildingId,
    body: BuildingBody,
    response: Response,
) -> BuildingPublic:
    """Create a building in a site the caller manages, or replace its name and floors."""
    if not user.visibility.allows_site(site_id) or user.visibility.households is not None:
        raise not_found("Site")
    if not await place_reads.site_exists(conn, site_id):
        raise not_found("Site")
    existed = await place_reads.building_exists(conn, site_id, building_id)

    def write() -> None:
        with res.action_pool.connection() as c:
            provisioning.upsert_building(c, site_id, building_id, body.name, body.floors)

    await run_in_threadpool(write)
    await audit_log.record(
        conn,
        actor=user.actor,
        action="building.write",
        target=f"building:{site_id}/{building_id}",
        site_id=site_id,
    )
    row = await place_reads.get_building(conn, user.visibility, site_id, building_id)
    assert row is not None
    if not existed:
        response.status_code = 201
    return building_public(row)
