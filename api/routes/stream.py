"""GET /api/v1/stream: Server-Sent Events of the alert changes the caller may see.

Each event is `alert_change` with the change id as its SSE id; a client that reconnects with
`Last-Event-ID` first gets what it missed (from the database), then live changes. Changes reach
every API process through PostgreSQL LISTEN/NOTIFY (see api.feed).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.deps import Res, StreamUser
from api.errors import forbidden, invalid
from api.feed import FeedItem
from api.language import StreamLanguage
from api.principals import Permission
from api.routes.alerts import alert_public, change_public
from api.schemas.alerts import AlertChanged
from api.schemas.common import error_responses
from store import api_alerts

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
    resume_after = None
    if last_event_id is not None:
        if not last_event_id.isdigit():
            raise invalid("header.Last-Event-ID", "must be a change id")
        resume_after = int(last_event_id)
    subscription = res.feed.subscribe(user.visibility)

    async def events() -> AsyncIterator[ServerSentEvent]:
        try:
            replayed = 0
            if resume_after is not None:
                async with res.pool.connection() as conn:
                    missed = await api_alerts.changes_with_alerts(
                        conn,
                        after_id=resume_after,
                        visibility=user.visibility,
                        limit=_MAX_REPLAY,
                    )
                for change, alert in missed:
                    replayed = max(replayed, change.id)
                    yield _event(FeedItem(change, alert), language)
            async for item in subscription:
                if item.change.id > replayed:
                    yield _event(item, language)
        finally:
            subscription.end()

    return EventSourceResponse(events(), ping=int(res.settings.stream_ping_s))
