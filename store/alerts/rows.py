"""Row access shared by store.alerts.transitions and store.alerts.escalations: lock, update, record
a change; and the column lists of alerts and alert changes, the one place every alert query
takes them from.

Not an API of its own: SQL fragments passed here are constants of those modules, never input.
"""

from __future__ import annotations

import re
from dataclasses import fields
from datetime import datetime

import psycopg
from psycopg.rows import TupleRow, class_row
from psycopg.types.json import Jsonb

from store.alerts.records import Alert, AlertChange, AlertNotFound, ChangeKind


def alert_columns(alias: str = "") -> str:
    """Alert's fields as a select list, in its order (for class_row), each as `alias.name`
    when an alias is given."""
    return _columns(Alert, alias)


def change_columns(alias: str = "") -> str:
    """AlertChange's fields as a select list, like `alert_columns`."""
    return _columns(AlertChange, alias)


def _columns(record: type[Alert] | type[AlertChange], alias: str) -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + f.name for f in fields(record) if f.metadata.get("column", True))


ALERT_COLUMNS = alert_columns()
_ACTOR = re.compile(r"system|(rule|user):.+", re.DOTALL)

_RECORD_CHANGE = f"""
INSERT INTO alert_changes (alert_id, at, actor, change, details)
VALUES (%s, %s, %s, %s, %s)
RETURNING {change_columns()}
"""


def check_change(actor: str, at: datetime) -> None:
    if not _ACTOR.fullmatch(actor):
        raise ValueError(f"actor must be 'system', 'rule:<id>' or 'user:<id>', not {actor!r}")
    if at.tzinfo is None:
        raise ValueError(f"change time must be timezone-aware (storage is UTC), not {at}")


def locked_alert(conn: psycopg.Connection[TupleRow], alert_id: int) -> Alert:
    with conn.cursor(row_factory=class_row(Alert)) as cur:
        alert = cur.execute(
            f"SELECT {ALERT_COLUMNS} FROM alerts WHERE id = %s FOR UPDATE", (alert_id,)
        ).fetchone()
    if alert is None:
        raise AlertNotFound(alert_id)
    return alert


def update_alert(
    conn: psycopg.Connection[TupleRow], alert_id: int, assignments: str, params: tuple[object, ...]
) -> Alert:
    # `assignments` is a constant of the calling module, never input.
    with conn.cursor(row_factory=class_row(Alert)) as cur:
        alert = cur.execute(
            f"UPDATE alerts SET {assignments} WHERE id = %s RETURNING {ALERT_COLUMNS}",
            (*params, alert_id),
        ).fetchone()
    if alert is None:
        raise AlertNotFound(alert_id)
    return alert


def record_change(
    conn: psycopg.Connection[TupleRow],
    alert_id: int,
    at: datetime,
    actor: str,
    change: ChangeKind,
    details: dict[str, object],
) -> AlertChange:
    with conn.cursor(row_factory=class_row(AlertChange)) as cur:
        row = cur.execute(
            _RECORD_CHANGE, (alert_id, at, actor, change.value, Jsonb(details))
        ).fetchone()
    assert row is not None
    return row
