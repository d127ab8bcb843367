"""Managers' pages of their sites: the list, and each site's overview (devices by kind and
state, the devices that need attention, open alerts), whose live part the page reloads when the
alert stream announces a change."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from starlette.responses import Response

from api.auth.principals import Principal
from api.deps import DbConn
from api.errors import not_found
from api.pages.access import FacilityUser
from api.pages.routing import page_router
from api.pages.templates import render
from api.params import SiteId
from store.alerts import alert_reads, device_alerts
from store.alerts.records import Alert
from store.devices import device_reads
from store.devices.device_reads import DEVICE_STATES
from store.places import place_reads

router = page_router()

#: Open alerts listed on an overview; the alerts page pages through the rest.
_OPEN_ALERTS_SHOWN = 100
_UNRESOLVED = ("open", "acknowledged")


@dataclass(frozen=True, slots=True)
class KindRow:
    kind: str
    counts: dict[str, int]
    total: int


@dataclass
class StateTable:
    """Devices by kind (rows) and state (columns), with the totals of each state."""

    rows: list[KindRow] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)
    devices: int = 0


def _state_table(states: list[device_reads.StateCount]) -> StateTable:
    by_kind: dict[str, dict[str, int]] = {}
    for s in states:
        by_kind.setdefault(s.kind, dict.fromkeys(DEVICE_STATES, 0))[s.state] = s.count
    table = StateTable(totals=dict.fromkeys(DEVICE_STATES, 0))
    for kind in sorted(by_kind):
        counts = by_kind[kind]
        table.rows.append(KindRow(kind, counts, sum(counts.values())))
        for state, count in counts.items():
            table.totals[state] += count
    table.devices = sum(table.totals.values())
    return table


async def alert_links(
    conn: DbConn, user: Principal, alerts: list[Alert]
) -> dict[tuple[str, str], int]:
    """Device ids of the alerts' subjects, for links to their charts (those the caller sees)."""
    return await device_alerts.device_ids(
        conn, user.visibility, {(a.site_id, a.subject) for a in alerts}
    )


@router.get("/sites")
async def sites(request: Request, conn: DbConn, user: FacilityUser) -> Response:
    rows = await place_reads.list_sites(conn, user.visibility)
    open_counts = await device_alerts.open_counts_by_site(conn, user.visibility)
    return render(request, "sites.html", user, {"sites": rows, "open_counts": open_counts})


async def _overview(conn: DbConn, user: Principal, site_id: str) -> dict[str, Any]:
    site = await place_reads.get_site(conn, user.visibility, site_id)
    if site is None:
        raise not_found("Site")
    states, _, attention = await device_reads.overview(conn, user.visibility, site_id)
    alerts = await alert_reads.list_alerts(
        conn,
        user.visibility,
        alert_reads.AlertFilter(statuses=_UNRESOLVED, site_id=site_id),
        limit=_OPEN_ALERTS_SHOWN,
    )
    return {
        "site": site,
        "zone": site.timezone,
        "table": _state_table(states),
        "attention": attention,
        "alerts": alerts,
        "devices_of": await alert_links(conn, user, alerts),
        "states": DEVICE_STATES,
    }


@router.get("/sites/{site_id}")
async def overview(request: Request, conn: DbConn, user: FacilityUser, site_id: SiteId) -> Response:
    return render(request, "site.html", user, await _overview(conn, user, site_id))


@router.get("/sites/{site_id}/live")
async def overview_live(
    request: Request, conn: DbConn, user: FacilityUser, site_id: SiteId
) -> Response:
    """The overview's changing part alone, which the page swaps in on each alert change."""
    return render(request, "_site_live.html", user, await _overview(conn, user, site_id))
