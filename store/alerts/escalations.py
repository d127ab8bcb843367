"""Escalation and reminders of alerts: which are due, moving one up a tier, recording a reminder.

Like store.alerts.transitions, every function takes a connection and leaves the transaction to the
caller; each change is recorded in `alert_changes` and announced at commit.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import psycopg
from psycopg.rows import TupleRow, class_row

from store.alerts.records import MAX_ESCALATION_TIER, Alert, AlertChange, ChangeKind, Status
from store.alerts.rows import (
    ALERT_COLUMNS,
    check_change,
    locked_alert,
    record_change,
    update_alert,
)


def due_for_escalation(
    conn: psycopg.Connection[TupleRow],
    now: datetime,
    limit: int,
    *,
    site_ids: Collection[str] | None = None,
) -> list[Alert]:
    """Open (unacknowledged) alerts whose escalation time has come, oldest first.

    The rows stay locked until the caller's transaction ends, and rows another transaction holds
    are skipped, so two engines never escalate the same alert at once. `site_ids` limits the
    query to the sites this engine owns.
    """
    return _due(conn, "next_escalation_at", "status = 'open'", now, limit, site_ids)


def escalate(
    conn: psycopg.Connection[TupleRow],
    alert_id: int,
    *,
    to_tier: int,
    at: datetime,
    next_escalation_at: datetime | None = None,
    actor: str = "system",
) -> tuple[Alert, AlertChange] | None:
    """Move an open alert up to `to_tier`; `next_escalation_at` schedules the tier after it.

    None (nothing recorded) when escalation no longer applies: the alert was acknowledged or
    resolved meanwhile, or already reached that tier. Raises AlertNotFound.
    """
    check_change(actor, at)
    if not 1 < to_tier <= MAX_ESCALATION_TIER:
        raise ValueError(f"escalation tier must be 2..{MAX_ESCALATION_TIER}, not {to_tier}")
    alert = locked_alert(conn, alert_id)
    if alert.status != Status.OPEN or alert.escalation_tier >= to_tier:
        return None
    updated = update_alert(
        conn,
        alert_id,
        "escalation_tier = %s, next_escalation_at = %s",
        (to_tier, next_escalation_at),
    )
    details: dict[str, object] = {"from_tier": alert.escalation_tier, "to_tier": to_tier}
    return updated, record_change(conn, alert_id, at, actor, ChangeKind.ESCALATED, details)


def due_for_reminder(
    conn: psycopg.Connection[TupleRow],
    now: datetime,
    limit: int,
    *,
    site_ids: Collection[str] | None = None,
) -> list[Alert]:
    """Unresolved alerts whose reminder time has come; locked and skipped like escalations."""
    return _due(conn, "next_reminder_at", "status <> 'resolved'", now, limit, site_ids)


def remind(
    conn: psycopg.Connection[TupleRow],
    alert_id: int,
    *,
    at: datetime,
    next_reminder_at: datetime | None,
    actor: str = "system",
) -> tuple[Alert, AlertChange] | None:
    """Record a reminder and schedule the next one; None when the alert is resolved."""
    check_change(actor, at)
    alert = locked_alert(conn, alert_id)
    if alert.status == Status.RESOLVED:
        return None
    updated = update_alert(conn, alert_id, "next_reminder_at = %s", (next_reminder_at,))
    return updated, record_change(conn, alert_id, at, actor, ChangeKind.REMINDED, {})


def set_next_escalation(
    conn: psycopg.Connection[TupleRow], alert_id: int, at: datetime | None
) -> bool:
    """Schedule (or, with None, stop) the escalation of an open alert; records no change.

    False when the alert is no longer open (acknowledged or resolved meanwhile): escalation
    stopped with that change, and stays stopped.
    """
    cur = conn.execute(
        "UPDATE alerts SET next_escalation_at = %s WHERE id = %s AND status = 'open'",
        (at, alert_id),
    )
    return cur.rowcount == 1


def set_next_reminder(
    conn: psycopg.Connection[TupleRow], alert_id: int, at: datetime | None
) -> bool:
    """Schedule (or, with None, stop) reminders of an unresolved alert; records no change."""
    cur = conn.execute(
        "UPDATE alerts SET next_reminder_at = %s WHERE id = %s AND status <> 'resolved'",
        (at, alert_id),
    )
    return cur.rowcount == 1


def _due(
    conn: psycopg.Connection[TupleRow],
    column: str,
    condition: str,
    now: datetime,
    limit: int,
    site_ids: Collection[str] | None,
) -> list[Alert]:
    # `column` and `condition` are constants of this module, never input.
    with conn.cursor(row_factory=class_row(Alert)) as cur:
        return cur.execute(
            f"""
            SELECT {ALERT_COLUMNS} FROM alerts
            WHERE {condition} AND {column} <= %(now)s
              AND (%(sites)s::text[] IS NULL OR site_id = ANY(%(sites)s::text[]))
            ORDER BY {column}, id
            LIMIT %(limit)s
            FOR UPDATE SKIP LOCKED
            """,
            {"now": now, "limit": limit, "sites": list(site_ids) if site_ids is not None else None},
        ).fetchall()
