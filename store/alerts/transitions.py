"""Alert rows and their change history: raise or repeat, lifecycle transitions, queries.

Every function takes a connection and leaves the transaction to the caller, so a change, the
notifications it causes (store.alerts.outbox) and the rule state behind it commit together.
Each change is recorded in `alert_changes` with its actor ("rule:<id>", "user:<id>" or
"system") and time; a trigger announces it on CHANGES_CHANNEL at commit (`listen`, `alisten`).
Escalation and reminders are in store.alerts.escalations; the records and errors, re-exported here,
in store.alerts.records.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow, class_row, dict_row
from psycopg.types.json import Jsonb

from store.alerts.records import (
    MAX_ESCALATION_TIER,
    Alert,
    AlertChange,
    AlertError,
    AlertNotFound,
    CareOutcome,
    Category,
    ChangeKind,
    InvalidTransition,
    NotCareAlert,
    PersonNotFound,
    Severity,
    Status,
)
from store.alerts.rows import (
    ALERT_COLUMNS,
    change_columns,
    check_change,
    locked_alert,
    record_change,
    update_alert,
)

__all__ = [
    "CHANGES_CHANNEL",
    "MAX_ESCALATION_TIER",
    "Alert",
    "AlertChange",
    "AlertError",
    "AlertNotFound",
    "CareOutcome",
    "Category",
    "ChangeKind",
    "InvalidTransition",
    "NotCareAlert",
    "PersonNotFound",
    "Severity",
    "Status",
    "acknowledge",
    "alisten",
    "assign",
    "comment",
    "get",
    "history",
    "listen",
    "open_alerts",
    "previous_severity",
    "raise_or_repeat",
    "record_outcome",
    "resolve",
    "resolve_by_dedup_key",
]

#: LISTEN channel on which every recorded change is announced at commit (migration 0003's
#: trigger); the payload is JSON with alert_id, change_id, change, site_id, household_id, category.
CHANGES_CHANNEL = "courtyard_alert_changes"
_LISTEN = sql.SQL("LISTEN {}").format(sql.Identifier(CHANGES_CHANNEL))

# Higher wins when a repeat arrives with another severity.
_SEVERITY_RANK = "array_position(ARRAY['info', 'warning', 'critical'], {})"

_RAISE = f"""
INSERT INTO alerts AS a (
    dedup_key, rule_id, site_id, subject, household_id, category, severity, summary_key,
    summary_args, value, metric, first_seen, last_seen, next_escalation_at, next_reminder_at
) VALUES (
    %(dedup_key)s, %(rule_id)s, %(site_id)s, %(subject)s, %(household_id)s, %(category)s,
    %(severity)s, %(summary_key)s, %(summary_args)s, %(value)s, %(metric)s, %(at)s, %(at)s,
    %(next_escalation_at)s, %(next_reminder_at)s
)
ON CONFLICT (dedup_key) WHERE status <> 'resolved' DO UPDATE SET
    occurrences = a.occurrences + 1,
    first_seen = least(a.first_seen, excluded.first_seen),
    last_seen = greatest(a.last_seen, excluded.last_seen),
    severity = CASE
        WHEN {_SEVERITY_RANK.format("excluded.severity")} > {_SEVERITY_RANK.format("a.severity")}
        THEN excluded.severity ELSE a.severity END,
    -- a late (out-of-order) repeat counts, but does not overwrite what the newest one said
    summary_key = CASE WHEN excluded.last_seen >= a.last_seen
                       THEN excluded.summary_key ELSE a.summary_key END,
    summary_args = CASE WHEN excluded.last_seen >= a.last_seen
                        THEN excluded.summary_args ELSE a.summary_args END,
    value = CASE WHEN excluded.last_seen >= a.last_seen THEN excluded.value ELSE a.value END,
    metric = CASE WHEN excluded.last_seen >= a.last_seen THEN excluded.metric ELSE a.metric END
RETURNING {ALERT_COLUMNS}, (xmax = 0) AS inserted
"""


def listen(conn: psycopg.Connection[TupleRow]) -> None:
    """Have the (autocommit) connection receive every alert change announced from now on."""
    conn.execute(_LISTEN)


async def alisten(conn: psycopg.AsyncConnection[TupleRow]) -> None:
    """`listen` for an async connection."""
    await conn.execute(_LISTEN)


def raise_or_repeat(
    conn: psycopg.Connection[TupleRow],
    *,
    dedup_key: str,
    rule_id: str,
    site_id: str,
    subject: str,
    household_id: str | None,
    category: Category | str,
    severity: Severity | str,
    summary_key: str,
    summary_args: Mapping[str, object],
    value: float | None,
    metric: str | None,
    at: datetime,
    actor: str,
    next_escalation_at: datetime | None = None,
    next_reminder_at: datetime | None = None,
) -> tuple[Alert, AlertChange]:
    """Open an alert for `dedup_key`, or count a repeat of the one already open.

    One statement, so concurrent raises of the same key (two engines, two batches) end in one
    open alert: the loser of the race updates the winner's row. The change is `raised` or
    `repeated`. `next_escalation_at` and `next_reminder_at` are set only on a new alert.
    """
    check_change(actor, at)
    params = {
        "dedup_key": dedup_key,
        "rule_id": rule_id,
        "site_id": site_id,
        "subject": subject,
        "household_id": household_id,
        "category": Category(category).value,
        "severity": Severity(severity).value,
        "summary_key": summary_key,
        "summary_args": Jsonb(dict(summary_args)),
        "value": value,
        "metric": metric,
        "at": at,
        "next_escalation_at": next_escalation_at,
        "next_reminder_at": next_reminder_at,
    }
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(_RAISE, params).fetchone()
    assert row is not None  # INSERT ... ON CONFLICT DO UPDATE always returns its row
    inserted = bool(row.pop("inserted"))
    alert = Alert(**row)
    if inserted:
        details: dict[str, object] = {"severity": alert.severity, "value": value}
        change = record_change(conn, alert.id, at, actor, ChangeKind.RAISED, details)
    else:
        details = {"occurrences": alert.occurrences, "severity": alert.severity, "value": value}
        change = record_change(conn, alert.id, at, actor, ChangeKind.REPEATED, details)
    return alert, change


def acknowledge(
    conn: psycopg.Connection[TupleRow], alert_id: int, *, actor: str, at: datetime
) -> tuple[Alert, AlertChange | None]:
    """Acknowledge an open alert, which stops its escalation.

    Acknowledging an acknowledged alert changes nothing and records nothing (change is None).
    Raises AlertNotFound, or InvalidTransition when the alert is resolved.
    """
    check_change(actor, at)
    alert = locked_alert(conn, alert_id)
    _refuse_resolved(alert, "acknowledged")
    if alert.status == Status.ACKNOWLEDGED:
        return alert, None
    return _acknowledge(conn, alert, actor, at)


def assign(
    conn: psycopg.Connection[TupleRow],
    alert_id: int,
    *,
    assignee: str | None,
    actor: str,
    at: datetime,
) -> tuple[Alert, AlertChange | None]:
    """Assign the alert to a person (None unassigns); the same assignee again is a no-op."""
    check_change(actor, at)
    alert = locked_alert(conn, alert_id)
    _refuse_resolved(alert, "assigned")
    if alert.assignee == assignee:
        return alert, None
    if (
        assignee is not None
        and not conn.execute("SELECT 1 FROM people WHERE id = %s", (assignee,)).fetchone()
    ):
        raise PersonNotFound(assignee)
    updated = update_alert(conn, alert_id, "assignee = %s", (assignee,))
    details: dict[str, object] = {"assignee": assignee, "previous": alert.assignee}
    return updated, record_change(conn, alert_id, at, actor, ChangeKind.ASSIGNED, details)


def comment(
    conn: psycopg.Connection[TupleRow], alert_id: int, *, text: str, actor: str, at: datetime
) -> AlertChange:
    """Add a comment. Allowed on resolved alerts too: a note after the fact changes no status."""
    check_change(actor, at)
    if not text.strip():
        raise ValueError("a comment needs some text")
    locked_alert(conn, alert_id)
    return record_change(conn, alert_id, at, actor, ChangeKind.COMMENTED, {"text": text})


def record_outcome(
    conn: psycopg.Connection[TupleRow],
    alert_id: int,
    *,
    outcome: CareOutcome | str,
    actor: str,
    at: datetime,
    note: str | None = None,
) -> tuple[Alert, AlertChange | None]:
    """Record how a care check-in went. Care alerts only (NotCareAlert otherwise).

    Someone who reports an outcome has seen the alert: an open alert is acknowledged first (both
    changes are recorded), so escalation stops. The same outcome again is a no-op; another one
    replaces it and the change keeps the previous. Raises InvalidTransition once resolved.
    """
    check_change(actor, at)
    outcome = CareOutcome(outcome)
    alert = locked_alert(conn, alert_id)
    if alert.category != Category.CARE:
        raise NotCareAlert(
            f"alert {alert_id} is a {alert.category} alert; "
            "outcomes are recorded on care alerts only"
        )
    _refuse_resolved(alert, "given an outcome")
    if alert.outcome == outcome:
        return alert, None
    if alert.status == Status.OPEN:
        alert, _ = _acknowledge(conn, alert, actor, at)
    updated = update_alert(conn, alert_id, "outcome = %s", (outcome.value,))
    details: dict[str, object] = {"outcome": outcome.value, "previous": alert.outcome}
    if note:
        details["note"] = note
    return updated, record_change(conn, alert_id, at, actor, ChangeKind.OUTCOME, details)


def resolve(
    conn: psycopg.Connection[TupleRow],
    alert_id: int,
    *,
    actor: str,
    at: datetime,
    auto: bool = False,
) -> tuple[Alert, AlertChange]:
    """Resolve an open or acknowledged alert (`auto_resolved` when the condition cleared).

    Raises AlertNotFound, or InvalidTransition when it is resolved already.
    """
    check_change(actor, at)
    alert = locked_alert(conn, alert_id)
    _refuse_resolved(alert, "resolved again")
    updated = update_alert(
        conn,
        alert_id,
        "status = 'resolved', resolved_at = %s, resolved_by = %s,"
        " next_escalation_at = NULL, next_reminder_at = NULL",
        (at, actor),
    )
    kind = ChangeKind.AUTO_RESOLVED if auto else ChangeKind.RESOLVED
    return updated, record_change(conn, alert_id, at, actor, kind, {})


def resolve_by_dedup_key(
    conn: psycopg.Connection[TupleRow], dedup_key: str, *, actor: str, at: datetime
) -> tuple[Alert, AlertChange] | None:
    """Auto-resolve the unresolved alert of `dedup_key`, if there is one (else None).

    One UPDATE: racing a person who resolves it by hand, exactly one of the two records it.
    """
    check_change(actor, at)
    with conn.cursor(row_factory=class_row(Alert)) as cur:
        alert = cur.execute(
            f"""
            UPDATE alerts SET status = 'resolved', resolved_at = %s, resolved_by = %s,
                next_escalation_at = NULL, next_reminder_at = NULL
            WHERE dedup_key = %s AND status <> 'resolved'
            RETURNING {ALERT_COLUMNS}
            """,
            (at, actor, dedup_key),
        ).fetchone()
    if alert is None:
        return None
    return alert, record_change(conn, alert.id, at, actor, ChangeKind.AUTO_RESOLVED, {})


def get(conn: psycopg.Connection[TupleRow], alert_id: int) -> Alert:
    with conn.cursor(row_factory=class_row(Alert)) as cur:
        alert = cur.execute(
            f"SELECT {ALERT_COLUMNS} FROM alerts WHERE id = %s", (alert_id,)
        ).fetchone()
    if alert is None:
        raise AlertNotFound(alert_id)
    return alert


def open_alerts(
    conn: psycopg.Connection[TupleRow],
    *,
    site_id: str | None = None,
    category: Category | str | None = None,
    household_ids: Collection[tuple[str, str]] | None = None,
    limit: int = 500,
) -> list[Alert]:
    """Unresolved alerts, most recently seen first.

    `household_ids` ((site, household) pairs) narrows to those households: a volunteer's view.
    """
    sites = [s for s, _ in household_ids] if household_ids is not None else None
    households = [h for _, h in household_ids] if household_ids is not None else None
    with conn.cursor(row_factory=class_row(Alert)) as cur:
        return cur.execute(
            f"""
            SELECT {ALERT_COLUMNS} FROM alerts
            WHERE status <> 'resolved'
              AND (%(site)s::text IS NULL OR site_id = %(site)s)
              AND (%(category)s::text IS NULL OR category = %(category)s)
              AND (%(sites)s::text[] IS NULL OR (site_id, household_id) IN (
                    SELECT * FROM unnest(%(sites)s::text[], %(households)s::text[])))
            ORDER BY last_seen DESC, id DESC
            LIMIT %(limit)s
            """,
            {
                "site": site_id,
                "category": Category(category).value if category is not None else None,
                "sites": sites,
                "households": households,
                "limit": limit,
            },
        ).fetchall()


def history(conn: psycopg.Connection[TupleRow], alert_id: int) -> list[AlertChange]:
    """Every change of the alert, in the order recorded. Raises AlertNotFound."""
    get(conn, alert_id)
    with conn.cursor(row_factory=class_row(AlertChange)) as cur:
        return cur.execute(
            f"SELECT {change_columns()} FROM alert_changes WHERE alert_id = %s ORDER BY id",
            (alert_id,),
        ).fetchall()


def previous_severity(
    conn: psycopg.Connection[TupleRow], alert_id: int, before_change_id: int
) -> str | None:
    """The severity the alert had before change `before_change_id` (None: no earlier raise).

    Read from the raised/repeated changes, which record the severity they left the alert at.
    """
    row = conn.execute(
        """
        SELECT details->>'severity' FROM alert_changes
        WHERE alert_id = %s AND id < %s AND change IN ('raised', 'repeated')
        ORDER BY id DESC LIMIT 1
        """,
        (alert_id, before_change_id),
    ).fetchone()
    return None if row is None else row[0]


def _acknowledge(
    conn: psycopg.Connection[TupleRow], alert: Alert, actor: str, at: datetime
) -> tuple[Alert, AlertChange]:
    updated = update_alert(
        conn,
        alert.id,
        "status = 'acknowledged', acknowledged_at = %s, acknowledged_by = %s,"
        " next_escalation_at = NULL",
        (at, actor),
    )
    return updated, record_change(conn, alert.id, at, actor, ChangeKind.ACKNOWLEDGED, {})


def _refuse_resolved(alert: Alert, what: str) -> None:
    if alert.status == Status.RESOLVED:
        raise InvalidTransition(f"alert {alert.id} is resolved; it cannot be {what}")
