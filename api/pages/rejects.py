"""Rejected messages: how many for each reason, and the messages themselves, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from starlette.responses import Response

from api.deps import DbConn
from api.errors import not_found
from api.pages.access import RejectsUser
from api.pages.routing import page_router
from api.pages.templates import render
from api.params import SiteFilter
from store.places import place_reads
from store.readings import reject_reads

router = page_router()

_PAGE = 50
#: Characters of a payload shown in the list; the API gives the whole stored prefix.
_PREVIEW_CHARS = 200


@router.get("/rejects")
async def rejects(
    request: Request,
    conn: DbConn,
    user: RejectsUser,
    site: SiteFilter = None,
    reason: Annotated[str | None, Query(max_length=2000, pattern=r"^[^\x00]*$")] = None,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Response:
    zones = {s.id: s.timezone for s in await place_reads.list_sites(conn, user.visibility)}
    if site is not None and site not in zones:
        raise not_found("Site")
    counts = await reject_reads.counts_by_reason(conn, user.visibility, site_id=site)
    rows = await reject_reads.list_rejects(
        conn, user.visibility, site_id=site, reason=reason, before_id=before, limit=_PAGE + 1
    )
    shown = rows[:_PAGE]
    return render(
        request,
        "rejects.html",
        user,
        {
            "counts": counts,
            "rejects": [
                (r, bytes(r.payload_prefix)[:_PREVIEW_CHARS].decode("utf-8", errors="replace"))
                for r in shown
            ],
            "older": shown[-1].id if len(rows) > _PAGE else None,
            "zones": zones,
            "sites": sorted(zones),
            "site": site,
            "reason": reason,
        },
    )
