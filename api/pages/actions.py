"""The forms that act on an alert, as the JSON API acts: the alert must be visible to the caller
(404 otherwise), the change goes through store.alerts.transitions on the action pool with the
caller as the actor, and the trigger announces it to every stream. Then the browser goes back to
the page it came from (`next`) with what happened. The bulk form of the alert table does the
same for each selected alert, one transaction each.

`CurrentUser` (behind `AlertsWriter`) has checked the session's CSRF token in the form.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Literal
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
from api.schemas.common import MAX_ID, unstorable_text
from store.alerts import alert_reads, alert_table
from store.alerts import transitions as store_alerts
from store.alerts.records import AlertChange, AlertNotFound, InvalidTransition, PersonNotFound
from store.places import place_reads

logger = logging.getLogger(__name__)
router = page_router()

Next = Annotated[str | None, Form(alias="next", max_length=2000)]
FormText = Annotated[str, Form(max_length=4000)]
Action = Callable[[psycopg.Connection[TupleRow]], AlertChange | None]


def _back(next_url: str | None, alert_id: int | None, **params: str) -> str:
    """`next` (or the alert's page, or the list) with `params` added to its query, and the
    alert's anchor."""
    default = "/alerts" if alert_id is None else f"/alerts/{alert_id}"
    scheme, netloc, path, query, _ = urlsplit(safe_next(next_url, default))
    kept = "&".join(p for p in query.split("&") if p and p.split("=")[0] not in params)
    query = "&".join(p for p in (kept, urlencode(params)) if p)
    anchor = "" if alert_id is None else f"alert-{alert_id}"
    return urlunsplit((scheme, netloc, path, query, anchor))


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


#: Alerts one bulk form may change: two pages of the table and then some.
BULK_MAX = 500
BulkAction = Literal["acknowledge", "resolve"]
_BULK_DONE = {"acknowledge": "acknowledged", "resolve": "resolved"}


def _bulk_change(
    c: psycopg.Connection[TupleRow], alert_id: int, action: BulkAction, text: str, actor: str
) -> bool:
    """One alert of a bulk action, in its own transaction: acknowledge or resolve it with the
    comment, by the functions the single-alert forms use. False: nothing to do (acknowledged
    or resolved already), and the comment is not added either."""
    now = datetime.now(UTC)
    if action == "acknowledge":
        _, change = store_alerts.acknowledge(c, alert_id, actor=actor, at=now)
        if change is None:
            return False
        if text:
            store_alerts.comment(c, alert_id, text=text, actor=actor, at=now)
        return True
    if store_alerts.get(c, alert_id).status == "resolved":
        return False
    if text:
        store_alerts.comment(c, alert_id, text=text, actor=actor, at=now)
    store_alerts.resolve(c, alert_id, actor=actor, at=now)
    return True


@router.post("/alerts/bulk")
async def bulk(
    conn: DbConn,
    res: Res,
    user: AlertsWriter,
    action: Annotated[BulkAction, Form()],
    alert: Annotated[list[int] | None, Form()] = None,
    comment: FormText = "",
    next_url: Next = None,
) -> Response:
    """Acknowledge or resolve the alerts selected in the table, with one comment on each.

    Only alerts the caller may see: an id of another site's alert (a forged form, or a scope
    that changed since the page was loaded) refuses the whole form with the not-found page, as
    for one alert, and changes nothing. Each alert changes in a transaction of its own, so one
    resolved meanwhile (counted as skipped) does not hold back the others.
    """
    ids = alert or []
    text = comment.strip()
    if (
        not ids
        or len(ids) > BULK_MAX
        or any(not 1 <= i <= MAX_ID for i in ids)
        or not _storable(comment)
    ):
        return see_other(_back(next_url, None, problem="invalid"))
    visible = await alert_table.visible_ids(conn, user.visibility, ids)
    if len(visible) < len(set(ids)):
        raise not_found("Alert")  # as for one alert: a form for someone else's changes nothing

    def run() -> int:
        changed = 0
        for alert_id in visible:
            try:
                with res.action_pool.connection() as c:  # one transaction per alert
                    changed += _bulk_change(c, alert_id, action, text, user.actor)
            except (AlertNotFound, InvalidTransition):  # gone, or resolved meanwhile
                continue
        return changed

    changed = await run_in_threadpool(run)
    skipped = len(set(ids)) - changed
    logger.info("bulk %s by %s: %s changed, %s skipped", action, user.actor, changed, skipped)
    return see_other(
        _back(
            next_url,
            None,
            bulk=_BULK_DONE[action],
            changed=str(changed),
            skipped=str(skipped),
        )
    )
