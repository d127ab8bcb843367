"""Alert pages: the list, and one alert with its history and the forms that act on it
(acknowledge, assign, comment, resolve; for care alerts the outcome of the check-in).

The list is a manager's work queue: a table filtered, sorted and paged by its address
(api.pages.alert_query), whose rows the bulk form acknowledges or resolves (api.pages.actions),
live (`/alerts/rows`) and exported as CSV (`/alerts/export.csv`, api.alert_csv). A volunteer
gets the same list as cards, phone first.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request
from starlette.responses import Response

from api import alert_csv
from api.auth.principals import Permission, Principal
from api.deps import AlertsReader, DbConn
from api.errors import not_found
from api.language import request_language
from api.pages import alert_query
from api.pages.access import is_volunteer_view
from api.pages.alert_query import AlertQuery, read_query
from api.pages.routing import page_router
from api.pages.sites import alert_links
from api.pages.templates import render
from api.params import AlertId
from store.alerts import alert_reads, alert_table
from store.alerts.records import Alert, CareOutcome
from store.places import household_states, place_reads

router = page_router()

_PAGE = 50
#: What a form's redirect may tell the next page (see `_flash.html`).
Done = Literal["acknowledged", "assigned", "commented", "resolved", "outcome", "unchanged"]
Problem = Literal["conflict", "invalid"]
#: What the bulk form's redirect tells the table (see `alerts.html`).
BulkDone = Literal["acknowledged", "resolved"]
Query_ = Annotated[AlertQuery, Depends(read_query)]


async def site_zones(conn: DbConn, user: Principal) -> dict[str, str]:
    return {s.id: s.timezone for s in await place_reads.list_sites(conn, user.visibility)}


async def _rows(
    conn: DbConn, user: Principal, query: AlertQuery, language: str, limit: int
) -> list[alert_table.TableRow]:
    keys: list[str] = []
    if query.text:
        keys = alert_query.matching_summaries(
            query.text, await alert_table.summary_keys(conn, user.visibility), language
        )
    return await alert_table.table_page(
        conn,
        user.visibility,
        alert_query.table_filter(query, keys),
        alert_query.table_sort(query),
        after=alert_query.position(query),
        limit=limit,
    )


async def _table(
    request: Request, conn: DbConn, user: Principal, query: AlertQuery
) -> dict[str, Any]:
    """What the table (and its live part) shows: one page of rows and the link to the next."""
    zones = await site_zones(conn, user)
    if query.site and query.site not in zones:
        raise not_found("Site")
    volunteer = is_volunteer_view(user)
    buildings = [] if volunteer else await place_reads.list_buildings(conn, user.visibility)
    rows = await _rows(conn, user, query, request_language(request, user), _PAGE + 1)
    shown = rows[:_PAGE]
    more = len(rows) > _PAGE
    return {
        "rows": shown,
        "alerts": [r.alert for r in shown],
        "query": query,
        "next_query": query.query_string(after=alert_query.cursor(shown[-1])) if more else None,
        "zones": zones,
        "devices_of": await alert_links(conn, user, [r.alert for r in shown]),
        "buildings": buildings,
        "building_names": {(b.site_id, b.id): b.name for b in buildings},
        "table_view": not volunteer,
        "can_write": user.can(Permission.ALERTS_WRITE),
    }


@router.get("/alerts")
async def alerts(
    request: Request,
    conn: DbConn,
    user: AlertsReader,
    query: Query_,
    bulk: Annotated[BulkDone | None, Query()] = None,
    changed: Annotated[int, Query(ge=0, le=10_000)] = 0,
    skipped: Annotated[int, Query(ge=0, le=10_000)] = 0,
    problem: Annotated[Problem | None, Query()] = None,
) -> Response:
    context = await _table(request, conn, user, query)
    return render(
        request,
        "alerts.html",
        user,
        {
            **context,
            "sites": sorted(context["zones"]),
            "statuses": list(alert_query.STATUSES),
            "severities": alert_query.SEVERITIES,
            "categories": alert_query.CATEGORIES if context["table_view"] else [],
            "bulk": bulk,
            "changed": changed,
            "skipped": skipped,
            "done": None,
            "problem": problem,
        },
    )


@router.get("/alerts/rows")
async def alert_rows(request: Request, conn: DbConn, user: AlertsReader, query: Query_) -> Response:
    """The table alone, which the page swaps in on each alert change (api/static/live.js)."""
    return render(request, "_alert_table.html", user, await _table(request, conn, user, query))


@router.get("/alerts/export.csv")
async def export(request: Request, conn: DbConn, user: AlertsReader, query: Query_) -> Response:
    """The filtered list (every page, up to alert_csv.EXPORT_LIMIT rows) as CSV."""
    zones = await site_zones(conn, user)
    if query.site and query.site not in zones:
        raise not_found("Site")
    language = request_language(request, user)
    rows = await _rows(conn, user, query.without_page(), language, alert_csv.EXPORT_LIMIT)
    buildings = await place_reads.list_buildings(conn, user.visibility)
    names = {(b.site_id, b.id): b.name for b in buildings}
    return alert_csv.response(rows, names, language, alert_csv.filename(query.site or None))


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
