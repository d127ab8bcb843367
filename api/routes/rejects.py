"""Rejected messages: what ingest could not store as data, counted by reason and browsable."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Query

from api import pagination
from api.deps import DbConn, RejectsReader
from api.params import Cursor, End, PageSize, SiteFilter, Start
from api.schemas.common import error_responses
from api.schemas.rejects import ReasonCount, RejectPage, RejectPublic
from store.readings import reject_reads

router = APIRouter(
    prefix="/rejects", tags=["rejects"], responses=error_responses(400, 401, 403, 422)
)


@router.get("/counts", response_model=list[ReasonCount])
async def counts(
    conn: DbConn,
    user: RejectsReader,
    site: SiteFilter = None,
    start: Start = None,
    end: End = None,
) -> list[ReasonCount]:
    """How many messages were rejected for each reason (the 100 commonest), with the time of
    the latest."""
    rows = await reject_reads.counts_by_reason(
        conn, user.visibility, site_id=site, start=start, end=end
    )
    return [ReasonCount(reason=r.reason, count=r.count, last_at=r.last_at) for r in rows]


@router.get("", response_model=RejectPage)
async def list_rejects(
    conn: DbConn,
    user: RejectsReader,
    site: SiteFilter = None,
    reason: Annotated[
        str | None, Query(max_length=2000, pattern=r"^[^\x00]*$", description="Exactly this.")
    ] = None,
    start: Start = None,
    end: End = None,
    cursor: Cursor = None,
    limit: PageSize = 100,
) -> RejectPage:
    """Rejected messages newest first, in keyset pages."""
    before = None
    if cursor is not None:
        (before_id,) = pagination.decode(cursor, [int])
        before = int(str(before_id))
    rows = await reject_reads.list_rejects(
        conn,
        user.visibility,
        site_id=site,
        reason=reason,
        start=start,
        end=end,
        before_id=before,
        limit=limit + 1,
    )
    items = [
        RejectPublic(
            id=r.id,
            received_at=r.received_at,
            topic=r.topic,
            site_id=r.site_id,
            payload_preview=bytes(r.payload_prefix).decode("utf-8", errors="replace"),
            payload_base64=base64.b64encode(bytes(r.payload_prefix)).decode(),
            payload_size=r.payload_size,
            reason=r.reason,
        )
        for r in rows[:limit]
    ]
    next_cursor = pagination.encode([items[-1].id]) if len(rows) > limit else None
    return RejectPage(items=items, next_cursor=next_cursor)
