"""Alert reads for the API: filtered keyset pages, one alert with its history, and the changes
the SSE stream sends, all narrowed to a Visibility. Changes go through store.alerts.transitions.
Each alert read comes with the names of its devices (store.alerts.named)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

import psycopg
from psycopg.rows import TupleRow, class_row, dict_row

from store.access.visibility import Visibility, Where, visible_alerts
from store.alerts.named import named_async
from store.alerts.records import Alert, AlertChange
from store.alerts.rows import alert_columns, change_columns

_A_COLUMNS = alert_columns("a")
_CHANGE_COLUMNS = change_columns("c")


@dataclass(frozen=True, slots=True)
class AlertFilter:
    statuses: Collection[str] | None = None
    category: str | None = None
    severity: str | None = None
    site_id: str | None = None
    household_id: str | None = None


class ListFilter(Protocol):
    """The filters the alert list and the alert table share."""

    @property
    def statuses(self) -> Collection[str] | None: ...
    @property
    def category(self) -> str | None: ...
    @property
    def severity(self) -> str | None: ...
    @property
    def site_id(self) -> str | None: ...
    @property
    def household_id(self) -> str | None: ...


def narrowed(visibility: Visibility, filters: ListFilter) -> Where:
    """The WHERE of the alerts `visibility` sees that pass `filters` (the alias is `a`)."""
    where = Where()
    visible_alerts(where, visibility)
    if filters.statuses:
        where.add("a.status = ANY(%(statuses)s::text[])", statuses=sorted(filters.statuses))
        if "resolved" not in filters.statuses:
            # Spelled out, not only implied by the parameter, so that the planner may use the
            # index of unresolved alerts (0009) whatever the statuses' values.
            where.add("a.status <> 'resolved'")
    if filters.category is not None:
        where.add("a.category = %(category)s", category=filters.category)
    if filters.severity is not None:
        where.add("a.severity = %(severity)s", severity=filters.severity)
    if filters.site_id is not None:
        where.add("a.site_id = %(site)s", site=filters.site_id)
    if filters.household_id is not None:
        where.add("a.household_id = %(household)s", household=filters.household_id)
    return where


async def list_alerts(
    conn: psycopg.AsyncConnection[TupleRow],
    visibility: Visibility,
    filters: AlertFilter,
    *,
    before_id: int | None = None,
    limit: int = 50,
) -> list[Alert]:
    """Alerts newest first (by id); `before_id` is the last id of the previous page."""
    where = narrowed(visibility, filters)
    if before_id is not None:
        where.add("a.id < %(before)s", before=before_id)
    async with conn.cursor(row_factory=class_row(Alert)) as cur:
        await cur.execute(
            f"SELECT {_A_COLUMNS} FROM alerts a {where.sql()} ORDER BY a.id DESC LIMIT %(limit)s",
            {**where.params, "limit": limit},
        )
        rows = await cur.fetchall()
    return await named_async(conn, rows)


async def get_alert(
    conn: psycopg.AsyncConnection[TupleRow], visibility: Visibility, alert_id: int
) -> Alert | None:
    where = Where()
    where.add("a.id = %(id)s", id=alert_id)
    visible_alerts(where, visibility)
    async with conn.cursor(row_factory=class_row(Alert)) as cur:
        await cur.execute(f"SELECT {_A_COLUMNS} FROM alerts a {where.sql()}", where.params)
        row = await cur.fetchone()
    return None if row is None else (await named_async(conn, [row]))[0]


async def history(conn: psycopg.AsyncConnection[TupleRow], alert_id: int) -> list[AlertChange]:
    async with conn.cursor(row_factory=class_row(AlertChange)) as cur:
        await cur.execute(
            f"SELECT {_CHANGE_COLUMNS} FROM alert_changes c WHERE c.alert_id = %s ORDER BY c.id",
            (alert_id,),
        )
        return await cur.fetchall()


async def changes_with_alerts(
    conn: psycopg.AsyncConnection[TupleRow],
    *,
    change_ids: Collection[int] | None = None,
    after_id: int | None = None,
    visibility: Visibility | None = None,
    limit: int = 1000,
) -> list[tuple[AlertChange, Alert]]:
    """Changes by id, or those after `after_id` (catching up a stream), each with its alert as
    it is now, oldest change first."""
    where = Where()
    if change_ids is not None:
        where.add("c.id = ANY(%(ids)s::bigint[])", ids=sorted(change_ids))
    if after_id is not None:
        where.add("c.id > %(after)s", after=after_id)
    if visibility is not None:
        visible_alerts(where, visibility)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"""
            SELECT {_CHANGE_COLUMNS.replace("c.id", "c.id AS change_id")}, {_A_COLUMNS}
            FROM alert_changes c JOIN alerts a ON a.id = c.alert_id
            {where.sql()} ORDER BY c.id LIMIT %(limit)s
            """,
            {**where.params, "limit": limit},
        )
        rows = await cur.fetchall()
    result = []
    for row in rows:
        change = AlertChange(
            id=row.pop("change_id"),
            alert_id=row.pop("alert_id"),
            at=row.pop("at"),
            actor=row.pop("actor"),
            change=row.pop("change"),
            details=row.pop("details"),
        )
        result.append((change, Alert(**row)))
    alerts = await named_async(conn, [alert for _, alert in result])
    return [(change, alert) for (change, _), alert in zip(result, alerts, strict=True)]


async def last_change_id(conn: psycopg.AsyncConnection[TupleRow]) -> int:
    cur = await conn.execute("SELECT coalesce(max(id), 0) FROM alert_changes")
    row = await cur.fetchone()
    return int(row[0]) if row else 0
