"""Sites: list, detail, create or update, and a site's overview (facilities by state)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from api.deps import DbConn, DevicesReader, PlacesReader, PlacesWriter, Res
from api.errors import invalid, not_found
from api.params import SiteId
from api.schemas.common import error_responses
from api.schemas.devices import AlertCount, AttentionDevice, SiteOverview, StateCount
from api.schemas.places import SiteBody, SitePublic
from store import server
from store.access.visibility import Visibility
from store.devices import device_reads
from store.places import place_reads, provisioning
from store.places.place_reads import SiteRow

router = APIRouter(prefix="/sites", tags=["places"], responses=error_responses(400, 401, 403, 422))


def site_public(row: SiteRow) -> SitePublic:
    return SitePublic(
        id=row.id,
        name=row.name,
        timezone=row.timezone,
        created_at=row.created_at,
        devices=row.devices,
        households=row.households,
    )


@router.get("", response_model=list[SitePublic])
async def list_sites(conn: DbConn, user: PlacesReader) -> list[SitePublic]:
    """The sites the caller may see, with how many devices and households each has."""
    return [site_public(r) for r in await place_reads.list_sites(conn, user.visibility)]


@router.get("/{site_id}", response_model=SitePublic, responses=error_responses(404))
async def get_site(conn: DbConn, user: PlacesReader, site_id: SiteId) -> SitePublic:
    """One site."""
    row = await place_reads.get_site(conn, user.visibility, site_id)
    if row is None:
        raise not_found("Site")
    return site_public(row)


@router.put(
    "/{site_id}",
    response_model=SitePublic,
    responses={201: {"model": SitePublic, "description": "Created."}, **error_responses(404)},
)
async def put_site(
    conn: DbConn,
    res: Res,
    user: PlacesWriter,
    site_id: SiteId,
    body: SiteBody,
    response: Response,
) -> SitePublic:
    """Create a site (callers who see every site) or update one's name and time zone."""
    exists = await place_reads.site_exists(conn, site_id)
    if not user.visibility.allows_site(site_id) or user.visibility.households is not None:
        raise not_found("Site")
    if not exists and not user.visibility.all_sites:
        raise not_found("Site")
    await _check_zone(conn, body.timezone)

    def write() -> None:
        with res.action_pool.connection() as c:
            provisioning.upsert_site(c, site_id, body.name, body.timezone)

    await run_in_threadpool(write)
    row = await place_reads.get_site(conn, user.visibility, site_id)
    assert row is not None
    if not exists:
        response.status_code = 201
    return site_public(row)


async def _check_zone(conn: DbConn, zone: str) -> None:
    if not await server.is_known_zone(conn, zone):
        raise invalid("body.timezone", "not an IANA time zone the database knows")


@router.get("/{site_id}/overview", response_model=SiteOverview, responses=error_responses(404))
async def overview(conn: DbConn, res: Res, user: DevicesReader, site_id: SiteId) -> Response:
    """The site at a glance: devices by kind and state (`alerting` when an open alert is about
    them), open alerts by category and severity, and the devices that need attention. At most
    `read_cache_s` (2 s) old; alert changes arrive live on /api/v1/stream."""
    if not user.visibility.allows_site(site_id):
        raise not_found("Site")

    async def compute() -> object:
        # Inside the cache, so a repeat costs no query at all (a 404 is not cached).
        if not await place_reads.site_exists(conn, site_id):
            raise not_found("Site")
        answer = await _overview(conn, user.visibility, site_id)
        return answer.model_dump_json().encode()

    body = await res.read_cache.get(("overview", site_id, user.visibility), compute)
    assert isinstance(body, bytes)
    return Response(body, media_type="application/json")


async def _overview(conn: DbConn, visibility: Visibility, site_id: str) -> SiteOverview:
    states, alerts, attention = await device_reads.overview(conn, visibility, site_id)
    return SiteOverview(
        site_id=site_id,
        devices=sum(s.count for s in states),
        by_state=[StateCount(kind=s.kind, state=s.state, count=s.count) for s in states],  # type: ignore[arg-type]
        open_alerts=[
            AlertCount(category=a.category, severity=a.severity, count=a.count) for a in alerts
        ],
        attention=[
            AttentionDevice(
                id=d.id,
                device_key=d.device_key,
                name=d.name,
                names=d.names,
                kind=d.kind,
                state=d.state,  # type: ignore[arg-type]
                worst_severity=d.worst_severity,
                last_seen=d.last_seen,
            )
            for d in attention
        ],
    )
