"""Managers' pages of their sites: the list, and each site's overview (devices by kind and
state, the devices that need attention, open alerts), whose live part the page reloads when the
alert stream announces a change."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from starlette.responses import Response

from api.deps import DbConn
from api.errors import not_found
from api.page_access import FacilityUser
from api.page_routing import page_router
from api.page_templates import render
from api.params import SiteId
from api.principals import Principal
from store import api_alerts, api_devices, api_places, page_alerts
from store.alert_records import Alert
from store.api_devices import DEVICE_STATES

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


def _state_table(states: list[api_devices.StateCount]) -> StateTable:
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
    return await page_alerts.device_ids(
        conn, user.visibility, {(a.site_id, a.subject) for a in alerts}
    )


@router.get("/sites")
async def sites(request: Request, conn: DbConn, user: FacilityUser) -> Response:
    rows = await api_places.list_sites(conn, user.visibility)
    open_counts = await page_alerts.open_counts_by_site(conn, user.visibility)
    return render(request, "sites.html", user, {"sites": rows, "open_counts": open_counts})


async def _overview(conn: DbConn, user: Principal, site_id: str) -> dict[str, Any]:
    site = await api_places.get_site(conn, user.visibility, site_id)
    if site is None:
        raise not_found("Site")
    states, _, attention = await api_devices.overview(conn, user.visibility, site_id)
    alerts = await api_alerts.list_alerts(
        conn,
        user.visibility,
        api_alerts.AlertFilter(statuses=_UNRESOLVED, site_id=site_id),
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
