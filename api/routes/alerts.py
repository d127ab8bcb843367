"""Alerts: filtered lists, one alert with its history, and the actions people take.

Actions go through store.alerts.transitions (the same functions the rules engine uses) on a worker
thread, with the caller as the actor; the trigger announces each change to every API process's
stream.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import psycopg
from fastapi import APIRouter, Query
from psycopg.rows import TupleRow
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api import alert_csv, pagination
from api.auth.principals import Principal
from api.deps import AlertsReader, AlertsWriter, DbConn, Res
from api.errors import ApiError, invalid, not_found
from api.language import Language
from api.params import AlertId, Cursor, HouseholdFilter, PageSize, SiteFilter
from api.schemas.alerts import (
    ActionResult,
    AlertChangePublic,
    AlertDetail,
    AlertPage,
    AlertPublic,
    AssignRequest,
    Category,
    CommentRequest,
    OutcomeRequest,
    ResolveRequest,
    Severity,
    Status,
)
from api.schemas.common import error_responses
from i18n import labels, summaries
from i18n.labels import code_label
from i18n.languages import SOURCE_LANGUAGE, is_translated, translations
from store.alerts import alert_reads, alert_table
from store.alerts import transitions as store_alerts
from store.alerts.named import named
from store.alerts.records import (
    Alert,
    AlertChange,
    AlertNotFound,
    InvalidTransition,
    PersonNotFound,
)
from store.places import place_reads

router = APIRouter(prefix="/alerts", tags=["alerts"], responses=error_responses(400, 401, 403, 422))
_ACT_ERRORS = error_responses(404, 409)

T = TypeVar("T")


def alert_public(alert: Alert, language: str = SOURCE_LANGUAGE) -> AlertPublic:
    """The alert as the API shows it: codes as stored, human texts in `language`."""
    tr = translations(language)
    shown = language if is_translated(tr) else SOURCE_LANGUAGE
    return AlertPublic(
        id=alert.id,
        rule_id=alert.rule_id,
        site_id=alert.site_id,
        subject=alert.subject,
        subject_name=alert.subject_name(shown),
        household_id=alert.household_id,
        category=alert.category,  # type: ignore[arg-type]  # CHECK-constrained codes
        severity=alert.severity,  # type: ignore[arg-type]
        status=alert.status,  # type: ignore[arg-type]
        summary_key=alert.summary_key,
        summary_args=alert.summary_args,
        summary=summaries.render(
            alert.summary_key,
            alert.summary_args,
            shown,
            alert.device_names,
            alert.household_labels,
        ),
        language=shown,
        category_label=code_label(labels.CATEGORY, alert.category, tr),
        severity_label=code_label(labels.SEVERITY, alert.severity, tr),
        status_label=code_label(labels.STATUS, alert.status, tr),
        value=alert.value,
        metric=alert.metric,
        first_seen=alert.first_seen,
        last_seen=alert.last_seen,
        occurrences=alert.occurrences,
        assignee=alert.assignee,
        outcome=alert.outcome,  # type: ignore[arg-type]
        escalation_tier=alert.escalation_tier,
        acknowledged_at=alert.acknowledged_at,
        acknowledged_by=alert.acknowledged_by,
        resolved_at=alert.resolved_at,
        resolved_by=alert.resolved_by,
    )


def change_public(change: AlertChange) -> AlertChangePublic:
    return AlertChangePublic(
        id=change.id,
        alert_id=change.alert_id,
        at=change.at,
        actor=change.actor,
        change=change.change,
        details=change.details,
    )


@router.get("", response_model=AlertPage)
async def list_alerts(
    conn: DbConn,
    user: AlertsReader,
    language: Language,
    status: Annotated[list[Status] | None, Query(description="Any of these statuses.")] = None,
    category: Annotated[Category | None, Query()] = None,
    severity: Annotated[Severity | None, Query()] = None,
    site: SiteFilter = None,
    household: HouseholdFilter = None,
    cursor: Cursor = None,
    limit: PageSize = 50,
) -> AlertPage:
    """Alerts the caller may see, newest first, in keyset pages."""
    before = None
    if cursor is not None:
        (before_id,) = pagination.decode(cursor, [int])
        before = int(str(before_id))
    rows = await alert_reads.list_alerts(
        conn,
        user.visibility,
        alert_reads.AlertFilter(
            statuses=status,
            category=category,
            severity=severity,
            site_id=site,
            household_id=household,
        ),
        before_id=before,
        limit=limit + 1,
    )
    items = [alert_public(a, language) for a in rows[:limit]]
    next_cursor = pagination.encode([items[-1].id]) if len(rows) > limit else None
    return AlertPage(items=items, next_cursor=next_cursor)


@router.get(
    "/export.csv",
    response_class=Response,
    responses={
        200: {
            "description": "CSV (UTF-8 with a byte order mark, for spreadsheets): headings and "
            "labels in the caller's language with the codes beside them, times on each "
            "alert's site clock with their UTC offset. Newest first, at most "
            f"{alert_csv.EXPORT_LIMIT:,} alerts.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
async def export_alerts(
    conn: DbConn,
    user: AlertsReader,
    language: Language,
    status: Annotated[list[Status] | None, Query(description="Any of these statuses.")] = None,
    category: Annotated[Category | None, Query()] = None,
    severity: Annotated[Severity | None, Query()] = None,
    site: SiteFilter = None,
    household: HouseholdFilter = None,
) -> Response:
    """The alerts the caller may see, filtered as the list is, as one CSV file."""
    rows = await alert_table.table_page(
        conn,
        user.visibility,
        alert_table.TableFilter(
            statuses=status,
            category=category,
            severity=severity,
            site_id=site,
            household_id=household,
        ),
        alert_table.Sort(),
        limit=alert_csv.EXPORT_LIMIT,
    )
    buildings = await place_reads.list_buildings(conn, user.visibility)
    names = {(b.site_id, b.id): b.name for b in buildings}
    return alert_csv.response(rows, names, language, alert_csv.filename(site))


async def _visible_alert(conn: DbConn, user: Principal, alert_id: int) -> Alert:
    alert = await alert_reads.get_alert(conn, user.visibility, alert_id)
    if alert is None:
        raise not_found("Alert")
    return alert


@router.get("/{alert_id}", response_model=AlertDetail, responses=error_responses(404))
async def get_alert(
    conn: DbConn, user: AlertsReader, language: Language, alert_id: AlertId
) -> AlertDetail:
    """One alert with every change recorded on it, oldest first."""
    alert = await _visible_alert(conn, user, alert_id)
    history = await alert_reads.history(conn, alert_id)
    return AlertDetail(
        **alert_public(alert, language).model_dump(), history=[change_public(c) for c in history]
    )


async def _act_on(
    res: Res,
    language: str,
    action: Callable[[psycopg.Connection[TupleRow]], tuple[Alert, AlertChange | None]],
) -> ActionResult:
    def run() -> tuple[Alert, AlertChange | None]:
        with res.action_pool.connection() as conn:  # commits on success, rolls back on error
            alert, change = action(conn)
            return named(conn, [alert])[0], change

    try:
        alert, change = await run_in_threadpool(run)
    except AlertNotFound:
        raise not_found("Alert") from None
    except PersonNotFound:
        raise invalid("body.assignee", "no such person at this alert's site") from None
    except InvalidTransition as exc:
        raise ApiError(409, str(exc)) from None
    return ActionResult(
        alert=alert_public(alert, language),
        change=None if change is None else change_public(change),
    )


@router.post("/{alert_id}/acknowledge", response_model=ActionResult, responses=_ACT_ERRORS)
async def acknowledge(
    conn: DbConn, res: Res, user: AlertsWriter, language: Language, alert_id: AlertId
) -> ActionResult:
    """Acknowledge an open alert, which stops its escalation. Acknowledging again changes
    nothing (`change` is null); a resolved alert answers 409."""
    await _visible_alert(conn, user, alert_id)
    now = datetime.now(UTC)
    return await _act_on(
        res, language, lambda c: store_alerts.acknowledge(c, alert_id, actor=user.actor, at=now)
    )


@router.post("/{alert_id}/assign", response_model=ActionResult, responses=_ACT_ERRORS)
async def assign(
    conn: DbConn,
    res: Res,
    user: AlertsWriter,
    language: Language,
    alert_id: AlertId,
    body: AssignRequest,
) -> ActionResult:
    """Assign the alert to a person who has an assignment at its site (null unassigns)."""
    alert = await _visible_alert(conn, user, alert_id)
    if body.assignee is not None and not await place_reads.has_assignment_at_site(
        conn, body.assignee, alert.site_id
    ):
        raise invalid("body.assignee", "no such person at this alert's site")
    now = datetime.now(UTC)
    return await _act_on(
        res,
        language,
        lambda c: store_alerts.assign(
            c, alert_id, assignee=body.assignee, actor=user.actor, at=now
        ),
    )


@router.post("/{alert_id}/comments", response_model=ActionResult, responses=_ACT_ERRORS)
async def comment(
    conn: DbConn,
    res: Res,
    user: AlertsWriter,
    language: Language,
    alert_id: AlertId,
    body: CommentRequest,
) -> ActionResult:
    """Add a comment to the alert's history (resolved alerts too)."""
    await _visible_alert(conn, user, alert_id)
    if not body.text.strip():
        raise invalid("body.text", "must not be blank")
    now = datetime.now(UTC)

    def action(c: psycopg.Connection[TupleRow]) -> tuple[Alert, AlertChange | None]:
        change = store_alerts.comment(c, alert_id, text=body.text, actor=user.actor, at=now)
        return store_alerts.get(c, alert_id), change

    return await _act_on(res, language, action)


@router.post("/{alert_id}/resolve", response_model=ActionResult, responses=_ACT_ERRORS)
async def resolve(
    conn: DbConn,
    res: Res,
    user: AlertsWriter,
    language: Language,
    alert_id: AlertId,
    body: ResolveRequest,
) -> ActionResult:
    """Resolve an open or acknowledged alert; a note, if given, is recorded as a comment first.
    A resolved alert answers 409."""
    await _visible_alert(conn, user, alert_id)
    now = datetime.now(UTC)

    def action(c: psycopg.Connection[TupleRow]) -> tuple[Alert, AlertChange | None]:
        if body.note and body.note.strip():
            if store_alerts.get(c, alert_id).status == "resolved":
                raise InvalidTransition(
                    f"alert {alert_id} is resolved; it cannot be resolved again"
                )
            store_alerts.comment(c, alert_id, text=body.note, actor=user.actor, at=now)
        return store_alerts.resolve(c, alert_id, actor=user.actor, at=now)

    return await _act_on(res, language, action)


@router.post("/{alert_id}/outcome", response_model=ActionResult, responses=_ACT_ERRORS)
async def record_outcome(
    conn: DbConn,
    res: Res,
    user: AlertsWriter,
    language: Language,
    alert_id: AlertId,
    body: OutcomeRequest,
) -> ActionResult:
    """Record how a care check-in went (care alerts only; others answer 409). An open alert
    is acknowledged at the same time."""
    await _visible_alert(conn, user, alert_id)
    now = datetime.now(UTC)
    return await _act_on(
        res,
        language,
        lambda c: store_alerts.record_outcome(
            c, alert_id, outcome=body.outcome, actor=user.actor, at=now, note=body.note
        ),
    )
