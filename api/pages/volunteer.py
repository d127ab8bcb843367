"""Volunteers' pages, phone-sized first: my households and their state, my care alerts (live,
with one-tap acknowledge and outcome), and a household's page with the resident's contact
details (each read written to the audit log first, as the API does)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from starlette.responses import Response

from api.auth.principals import Permission, Principal
from api.deps import DbConn, PlacesReader
from api.errors import not_found
from api.pages.access import VolunteerUser
from api.pages.alerts import Done, Problem
from api.pages.routing import page_router
from api.pages.templates import render
from api.params import HouseholdId, SiteId
from api.resident_contact import audited_contact
from store.alerts import alert_reads
from store.alerts.records import CareOutcome
from store.devices import device_reads
from store.places import household_states, place_reads

router = page_router()

_ALERTS_SHOWN = 50


async def _mine(conn: DbConn, user: Principal) -> dict[str, Any]:
    households = await household_states.household_states(conn, user.visibility)
    alerts = await alert_reads.list_alerts(
        conn,
        user.visibility,
        alert_reads.AlertFilter(statuses=("open", "acknowledged")),
        limit=_ALERTS_SHOWN,
    )
    # Those still waiting for someone first, then the newest.
    alerts.sort(key=lambda a: (a.status != "open", -a.id))
    return {
        "households": households,
        "labels": {(h.site_id, h.id): h.label for h in households},
        "zones": {(h.site_id, h.id): h.timezone for h in households},
        "alerts": alerts,
        "outcomes": [o.value for o in CareOutcome],
        "can_write": user.can(Permission.ALERTS_WRITE),
    }


@router.get("/my")
async def my_page(
    request: Request,
    conn: DbConn,
    user: VolunteerUser,
    done: Annotated[Done | None, Query()] = None,
    problem: Annotated[Problem | None, Query()] = None,
) -> Response:
    context = await _mine(conn, user)
    return render(request, "my.html", user, {**context, "done": done, "problem": problem})


@router.get("/my/live")
async def my_live(request: Request, conn: DbConn, user: VolunteerUser) -> Response:
    """The changing part of /my alone, which the page swaps in on each alert change."""
    return render(request, "_my_live.html", user, await _mine(conn, user))


@router.get("/households/{site_id}/{household_id}")
async def household(
    request: Request,
    conn: DbConn,
    user: PlacesReader,
    site_id: SiteId,
    household_id: HouseholdId,
) -> Response:
    row = await place_reads.get_household(conn, user.visibility, site_id, household_id)
    if row is None:
        raise not_found("Household")
    contact = await audited_contact(conn, user, site_id, household_id, via=f"{user.via}:page")
    devices = await device_reads.list_devices(
        conn, user.visibility, site_id=site_id, household_id=household_id
    )
    alerts = (
        await alert_reads.list_alerts(
            conn,
            user.visibility,
            alert_reads.AlertFilter(site_id=site_id, household_id=household_id),
            limit=20,
        )
        if user.can(Permission.ALERTS_READ)
        else []
    )
    return render(
        request,
        "household.html",
        user,
        {
            "household": row,
            "contact": contact,
            "zone": await household_states.zone_of(conn, site_id, household_id),
            "devices": devices,
            "alerts": alerts,
            "devices_of": {(d.site_id, d.device_key): d.id for d in devices},
        },
    )
