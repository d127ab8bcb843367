"""Alert pages: the filtered list, and one alert with its history and the forms that act on it
(acknowledge, assign, comment, resolve; for care alerts the outcome of the check-in)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query, Request
from starlette.responses import Response

from api.auth.principals import Permission, Principal
from api.deps import AlertsReader, DbConn
from api.errors import not_found
from api.pages.access import is_volunteer_view
from api.pages.routing import page_router
from api.pages.sites import alert_links
from api.pages.templates import render
from api.params import AlertId, SiteFilter
from api.schemas.alerts import Category
from store.alerts import alert_reads
from store.alerts.records import Alert, CareOutcome
from store.places import household_states, place_reads

router = page_router()

_PAGE = 50
StatusChoice = Literal["unresolved", "open", "acknowledged", "resolved", "all"]
_STATUSES: dict[str, tuple[str, ...] | None] = {
    "unresolved": ("open", "acknowledged"),
    "open": ("open",),
    "acknowledged": ("acknowledged",),
    "resolved": ("resolved",),
    "all": None,
}
#: What a form's redirect may tell the next page (see `_flash.html`).
Done = Literal["acknowledged", "assigned", "commented", "resolved", "outcome", "unchanged"]
Problem = Literal["conflict", "invalid"]


async def site_zones(conn: DbConn, user: Principal) -> dict[str, str]:
    return {s.id: s.timezone for s in await place_reads.list_sites(conn, user.visibility)}


@router.get("/alerts")
async def alerts(
    request: Request,
    conn: DbConn,
    user: AlertsReader,
    site: SiteFilter = None,
    status: Annotated[StatusChoice, Query()] = "unresolved",
    category: Annotated[Category | None, Query()] = None,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Response:
    zones = await site_zones(conn, user)
    if site is not None and site not in zones:
        raise not_found("Site")
    rows = await alert_reads.list_alerts(
        conn,
        user.visibility,
        alert_reads.AlertFilter(statuses=_STATUSES[status], category=category, site_id=site),
        before_id=before,
        limit=_PAGE + 1,
    )
    shown = rows[:_PAGE]
    return render(
        request,
        "alerts.html",
        user,
        {
            "alerts": shown,
            "older": shown[-1].id if len(rows) > _PAGE else None,
            "zones": zones,
            "sites": sorted(zones),
            "site": site,
            "status": status,
            "statuses": list(_STATUSES),
            "category": category,
            "categories": [] if is_volunteer_view(user) else ["maintenance", "care", "security"],
            "devices_of": await alert_links(conn, user, shown),
        },
    )


async def _assignees(conn: DbConn, user: Principal, alert: Alert) -> list[tuple[str, str]]:
    """(person id, name) of the people assigned at the alert's site: whom it can go to."""
    if is_volunteer_view(user) or not user.can(Permission.PLACES_READ):
        return []
    assigned = {
        a.person_id
        for a in await place_reads.list_assignments(conn, user.visibility, site_id=alert.site_id)
    }
    people = await place_reads.list_people(conn, user.visibility)
    return [(p.id, p.name) for p in people if p.id in assigned and p.active]


@router.get("/alerts/{alert_id}")
async def alert(
    request: Request,
    conn: DbConn,
    user: AlertsReader,
    alert_id: AlertId,
    done: Annotated[Done | None, Query()] = None,
    problem: Annotated[Problem | None, Query()] = None,
) -> Response:
    row = await alert_reads.get_alert(conn, user.visibility, alert_id)
    if row is None:
        raise not_found("Alert")
    return render(
        request,
        "alert.html",
        user,
        {
            "alert": row,
            "history": await alert_reads.history(conn, alert_id),
            "zone": await household_states.zone_of(conn, row.site_id, row.household_id),
            "devices_of": await alert_links(conn, user, [row]),
            "can_write": user.can(Permission.ALERTS_WRITE),
            "assignees": await _assignees(conn, user, row),
            "outcomes": [o.value for o in CareOutcome],
            "done": done,
            "problem": problem,
        },
    )
