"""Events (door, motion, access, emergencies) of the devices the caller may see."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api import pagination
from api.deps import DbConn, DevicesReader
from api.params import Cursor, End, HouseholdFilter, PageSize, SiteFilter, Start
from api.schemas.common import MAX_ID, error_responses
from api.schemas.devices import EventPage, EventPublic
from store.readings import event_reads

router = APIRouter(prefix="/events", tags=["events"], responses=error_responses(400, 401, 403, 422))


@router.get("", response_model=EventPage)
async def list_events(
    conn: DbConn,
    user: DevicesReader,
    site: SiteFilter = None,
    device_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only this device.")
    ] = None,
    household: HouseholdFilter = None,
    type: Annotated[
        str | None, Query(pattern=r"^[a-z_]{1,64}$", description="Only this event type.")
    ] = None,
    start: Start = None,
    end: End = None,
    cursor: Cursor = None,
    limit: PageSize = 100,
) -> EventPage:
    """Events newest first, in keyset pages, filtered by site, device, household, type and
    time range."""
    before = None
    if cursor is not None:
        ts, dev, kind, subject = pagination.decode(cursor, [datetime, int, str, str])
        assert isinstance(ts, datetime)
        before = (ts, int(str(dev)), str(kind), str(subject))
    rows = await event_reads.list_events(
        conn,
        user.visibility,
        site_id=site,
        device_id=device_id,
        household_id=household,
        event_type=type,
        start=start,
        end=end,
        before=before,
        limit=limit + 1,
    )
    items = [
        EventPublic(
            device_id=r.device_id,
            site_id=r.site_id,
            device_key=r.device_key,
            ts=r.ts,
            type=r.type,
            subject=r.subject,
            attrs=r.attrs,
        )
        for r in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = pagination.encode([last.ts, last.device_id, last.type, last.subject])
    return EventPage(items=items, next_cursor=next_cursor)
