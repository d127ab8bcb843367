"""GET /api/v1/stream: Server-Sent Events of the alert changes the caller may see.

Each event is `alert_change` with the change id as its SSE id; a client that reconnects with
`Last-Event-ID` first gets what it missed (from the database), then live changes. Changes reach
every API process through PostgreSQL LISTEN/NOTIFY (see api.feed).

Access is checked when the stream opens and again before every delivery, every
`stream_recheck_s`, and at once when any token, session or user's access ends: a revoked token,
a logged-out session or a deactivated user closes the stream, and so does a narrowed scope
(the client reconnects and gets what it may see now).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated

import psycopg
from fastapi import APIRouter, Header, Request
from psycopg_pool import PoolTimeout
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.auth.authn import current_principal
from api.auth.principals import Permission, Principal
from api.deps import Res, StreamUser
from api.errors import ApiError, forbidden
from api.feed import FeedItem
from api.language import StreamLanguage
from api.resources import Resources
from api.routes.alerts import alert_public, change_public
from api.schemas.alerts import AlertChanged
from api.schemas.common import MAX_ID, error_responses
from store.alerts import alert_reads

logger = logging.getLogger(__name__)

router = APIRouter(tags=["alerts"])

#: Changes replayed on reconnect; a client further behind starts again from the list endpoint.
_MAX_REPLAY = 1000


def _event(item: FeedItem, language: str) -> ServerSentEvent:
    payload = AlertChanged(
        change=change_public(item.change), alert=alert_public(item.alert, language)
    )
    return ServerSentEvent(
        data=payload.model_dump_json(), event="alert_change", id=str(item.change.id)
    )


@router.get(
    "/stream",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "`text/event-stream` of `alert_change` events, each an "
            "`AlertChanged` JSON object, with the change id as the event id.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **error_responses(400, 401, 403, 422),
    },
)
async def stream(
    request: Request,
    res: Res,
    user: StreamUser,
    language: StreamLanguage,
    last_event_id: Annotated[
        str | None,
        Header(alias="Last-Event-ID", max_length=20, description="Resume after this change."),
    ] = None,
) -> EventSourceResponse:
    """Alert changes as they are committed, each only to callers who may see the alert."""
    if not user.can(Permission.ALERTS_READ):
        raise forbidden(Permission.ALERTS_READ.value)
    resume_after = _change_id(last_event_id)
    subscription = res.feed.subscribe(user.visibility)
    recheck_s = res.settings.stream_recheck_s

    async def events() -> AsyncIterator[ServerSentEvent]:
        try:
            replayed = 0
            if resume_after is not None:
                async with res.pool.connection() as conn:
                    missed = await alert_reads.changes_with_alerts(
                        conn,
                        after_id=resume_after,
                        visibility=user.visibility,
                        limit=_MAX_REPLAY,
                    )
                for change, alert in missed:
                    replayed = max(replayed, change.id)
                    yield _event(FeedItem(change, alert), language)
            while True:
                batch = await subscription.next_batch(recheck_s)
                if batch is None or not await _still_allowed(res, request, user):
                    return
                for item in batch:
                    if item.change.id > replayed:
                        yield _event(item, language)
        finally:
            subscription.end()

    return EventSourceResponse(events(), ping=int(res.settings.stream_ping_s))


def _change_id(last_event_id: str | None) -> int | None:
    # ASCII digits only: str.isdigit also accepts "²", which int() refuses.
    if last_event_id is None:
        return None
    if not (last_event_id.isascii() and last_event_id.isdigit()) or int(last_event_id) > MAX_ID:
        raise ApiError(
            400,
            "Last-Event-ID must be the id of an event of this stream.",
            fields=[("header.Last-Event-ID", "must be a change id")],
        )
    return int(last_event_id)


async def _still_allowed(res: Resources, request: Request, user: Principal) -> bool:
    """Whether the stream's caller still sees what they saw when it opened. A database that
    cannot say ends the stream too: the client reconnects and is checked afresh."""
    try:
        async with res.pool.connection() as conn:
            now = await current_principal(conn, request, res.settings)
    except (psycopg.Error, PoolTimeout) as exc:
        logger.warning("stream: cannot re-check the caller (%s); closing", exc)
        return False
    return (
        now is not None
        and now.can(Permission.ALERTS_READ)
        and now.visibility == user.visibility
        and now.role == user.role
    )
