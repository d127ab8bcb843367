"""The forms that act on an alert, as the JSON API acts: the alert must be visible to the caller
(404 otherwise), the change goes through store.alerts.transitions on the action pool with the
caller as the actor, and the trigger announces it to every stream. Then the browser goes back to
the page it came from (`next`) with what happened.

`CurrentUser` (behind `AlertsWriter`) has checked the session's CSRF token in the form.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode, urlsplit, urlunsplit

import psycopg
from fastapi import Form
from psycopg.rows import TupleRow
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.auth.principals import Principal
from api.deps import AlertsWriter, DbConn, Res
from api.errors import not_found
from api.pages.routing import page_router, safe_next, see_other
from api.params import AlertId
from api.schemas.alerts import Outcome
from api.schemas.common import unstorable_text
from store.alerts import alert_reads
from store.alerts import transitions as store_alerts
from store.alerts.records import AlertChange, AlertNotFound, InvalidTransition, PersonNotFound
from store.places import place_reads

router = page_router()

Next = Annotated[str | None, Form(alias="next", max_length=2000)]
FormText = Annotated[str, Form(max_length=4000)]
Action = Callable[[psycopg.Connection[TupleRow]], AlertChange | None]


def _back(next_url: str | None, alert_id: int, **params: str) -> str:
    """`next` (or the alert's page) with `params` added to its query and the alert's anchor."""
    scheme, netloc, path, query, _ = urlsplit(safe_next(next_url, f"/alerts/{alert_id}"))
    kept = "&".join(p for p in query.split("&") if p and p.split("=")[0] not in params)
    query = "&".join(p for p in (kept, urlencode(params)) if p)
    return urlunsplit((scheme, netloc, path, query, f"alert-{alert_id}"))


def _storable(text: str) -> bool:
    return unstorable_text(text, "") is None


async def _act(
    conn: DbConn,
    res: Res,
    user: Principal,
    alert_id: int,
    next_url: str | None,
    done: str,
    action: Action,
) -> Response:
    if await alert_reads.get_alert(conn, user.visibility, alert_id) is None:
        raise not_found("Alert")

    def run() -> AlertChange | None:
        with res.action_pool.connection() as c:  # commits on success, rolls back on error
            return action(c)

    try:
        change = await run_in_threadpool(run)
    except AlertNotFound:
        raise not_found("Alert") from None
    except PersonNotFound:
        return see_other(_back(next_url, alert_id, problem="invalid"))
    except InvalidTransition:  # resolved meanwhile, or an outcome on a non-care alert
        return see_other(_back(next_url, alert_id, problem="conflict"))
    return see_other(_back(next_url, alert_id, done=done if change else "unchanged"))


def _invalid(alert_id: int, next_url: str | None) -> Response:
    return see_other(_back(next_url, alert_id, problem="invalid"))


@router.post("/alerts/{alert_id}/acknowledge")
async def acknowledge(
    conn: DbConn, res: Res, user: AlertsWriter, alert_id: AlertId, next_url: Next = None
) -> Response:
    now = datetime.now(UTC)
    return await _act(
        conn,
        res,
        user,
        alert_id,
        next_url,
        "acknowledged",
        lambda c: store_alerts.acknowledge(c, alert_id, actor=user.actor, at=now)[1],
    )


@router.post("/alerts/{alert_id}/assign")
async def assign(
    conn: DbConn,
    res: Res,
    user: AlertsWriter,
    alert_id: AlertId,
    assignee: Annotated[str, Form(max_length=64)] = "",
    next_url: Next = None,
) -> Response:
    alert = await alert_reads.get_alert(conn, user.visibility, alert_id)
    if alert is None:
        raise not_found("Alert")
    person = assignee or None
    # Only someone with an assignment at the alert's site, as the API requires.
    if person is not None and not await place_reads.has_assignment_at_site(
        conn, person, alert.site_id
    ):
        return _invalid(alert_id, next_url)
    now = datetime.now(UTC)
    return await _act(
        conn,
        res,
        user,
        alert_id,
        next_url,
        "assigned",
        lambda c: store_alerts.assign(c, alert_id, assignee=person, actor=user.actor, at=now)[1],
    )


@router.post("/alerts/{alert_id}/comment")
async def comment(
    conn: DbConn,
    res: Res,
    user: AlertsWriter,
    alert_id: AlertId,
    text: FormText = "",
    next_url: Next = None,
) -> Response:
    if not text.strip() or not _storable(text):
        return _invalid(alert_id, next_url)
    now = datetime.now(UTC)
    return await _act(
        conn,
        res,
        user,
        alert_id,
        next_url,
        "commented",
        lambda c: store_alerts.comment(c, alert_id, text=text, actor=user.actor, at=now),
    )


@router.post("/alerts/{alert_id}/resolve")
async def resolve(
    conn: DbConn,
    res: Res,
    user: AlertsWriter,
    alert_id: AlertId,
    note: FormText = "",
    next_url: Next = None,
) -> Response:
    if not _storable(note):
        return _invalid(alert_id, next_url)
    now = datetime.now(UTC)

    def action(c: psycopg.Connection[TupleRow]) -> AlertChange | None:
        if note.strip():
            if store_alerts.get(c, alert_id).status == "resolved":
                raise InvalidTransition(f"alert {alert_id} is resolved already")
            store_alerts.comment(c, alert_id, text=note, actor=user.actor, at=now)
        return store_alerts.resolve(c, alert_id, actor=user.actor, at=now)[1]

    return await _act(conn, res, user, alert_id, next_url, "resolved", action)


@router.post("/alerts/{alert_id}/outcome")
async def outcome(
    conn: DbConn,
    res: Res,
    user: AlertsWriter,
    alert_id: AlertId,
    value: Annotated[Outcome, Form(alias="outcome")],
    note: FormText = "",
    next_url: Next = None,
) -> Response:
    if not _storable(note):
        return _invalid(alert_id, next_url)
    now = datetime.now(UTC)
    return await _act(
        conn,
        res,
        user,
        alert_id,
        next_url,
        "outcome",
        lambda c: store_alerts.record_outcome(
            c, alert_id, outcome=value, actor=user.actor, at=now, note=note.strip() or None
        )[1],
    )
