"""The alert table of the dashboard (a manager's work queue) and its CSV export: alerts with the
household and building they are about, filtered, sorted by any column and paged by keyset,
narrowed to a Visibility. Changes go through store.alerts.transitions.

An alert's building is its household's; for a device alert, the building people set on the
device (store.devices.device_edits), else the building of the household the device belongs to,
else the building whose id starts the device's id ("b01-elevator-01": site devices are named
after their building, see migration 0008).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

import psycopg
from psycopg.rows import TupleRow, dict_row

from store.access.visibility import Visibility, Where, visible_alerts
from store.alerts.alert_reads import narrowed
from store.alerts.named import named_async
from store.alerts.records import Alert
from store.alerts.rows import alert_columns

_A_COLUMNS = alert_columns("a")

#: The type of each sort key's value, for reading a cursor back.
SORT_TYPES: dict[str, type] = {
    "severity": int,
    "status": int,
    "category": str,
    "device": str,
    "place": str,
    "raised": datetime,
    "changed": datetime,
}

# The building of the alert (see the module's text). An expression, not a join: PostgreSQL
# evaluates it only for the rows of the page, after the sort and the limit, unless the page is
# filtered or sorted by building.
_BUILDING = """coalesce(
    h.building_id,
    (SELECT d.building_id FROM devices d WHERE d.site_id = a.site_id AND d.device_key = a.subject),
    (SELECT dh.building_id FROM household_devices hd
     JOIN households dh ON dh.site_id = hd.site_id AND dh.id = hd.household_id
     WHERE hd.site_id = a.site_id AND hd.device_key = a.subject),
    (SELECT b.id FROM buildings b
     WHERE b.site_id = a.site_id AND starts_with(a.subject, b.id || '-')
     ORDER BY length(b.id) DESC LIMIT 1)
)"""
_JOINS = """
LEFT JOIN households h ON h.site_id = a.site_id AND h.id = a.household_id
JOIN sites s ON s.id = a.site_id
"""

#: Sort keys and the expression each orders by (never NULL: keyset paging compares them).
SORTS: dict[str, str] = {
    "severity": "array_position(ARRAY['info', 'warning', 'critical'], a.severity)",
    "status": "array_position(ARRAY['open', 'acknowledged', 'resolved'], a.status)",
    "category": "a.category",
    "device": "a.subject",
    # Site, household's building, household or device: devices named after their building
    # ("b01-...") fall in its order without the cost of finding every row's building.
    "place": "a.site_id || '/' || coalesce(h.building_id || '/' || h.label, a.subject)",
    "raised": "a.first_seen",
    "changed": "greatest(a.last_seen, a.acknowledged_at, a.resolved_at)",
}


@dataclass(frozen=True, slots=True)
class TableFilter:
    statuses: Collection[str] | None = None
    severity: str | None = None
    category: str | None = None
    site_id: str | None = None
    household_id: str | None = None
    #: (site, building): the building's alerts (see the module's text).
    building: tuple[str, str] | None = None
    #: Raised on or after this day, on or before `until`, each on the clock of the alert's site.
    since: date | None = None
    until: date | None = None
    #: Text in the device id, the household's name or the summary's arguments (case ignored),
    #: or one of `summary_keys` (the summaries whose words, in the reader's language, hold it).
    text: str | None = None
    summary_keys: Collection[str] = ()


@dataclass(frozen=True, slots=True)
class Sort:
    key: str = "raised"
    descending: bool = True


@dataclass(frozen=True, slots=True)
class TableRow:
    alert: Alert
    household_label: str | None
    building_id: str | None
    site_timezone: str
    #: The value the page is sorted by: with the alert's id, the position of the next page.
    sort_value: object


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(visibility: Visibility, filters: TableFilter) -> Where:
    where = narrowed(visibility, filters)  # the filters the alert list has too
    if filters.building is not None:
        site, building = filters.building
        # Any link to the building first (a cheap semi-join), then the building the row shows.
        where.add(
            f"""a.site_id = %(b_site)s AND (
                h.building_id = %(b_id)s
                OR starts_with(a.subject, %(b_id)s || '-')
                OR a.subject IN (
                    SELECT d.device_key FROM devices d
                    WHERE d.site_id = %(b_site)s AND d.building_id = %(b_id)s)
                OR a.subject IN (
                    SELECT hd.device_key FROM household_devices hd
                    JOIN households dh ON dh.site_id = hd.site_id AND dh.id = hd.household_id
                    WHERE hd.site_id = %(b_site)s AND dh.building_id = %(b_id)s))
            AND {_BUILDING} = %(b_id)s""",
            b_site=site,
            b_id=building,
        )
    if filters.since is not None:
        where.add(
            "a.first_seen >= (%(since)s::date)::timestamp AT TIME ZONE s.timezone",
            since=filters.since,
        )
    if filters.until is not None:
        where.add(
            "a.first_seen < (%(until)s::date + 1)::timestamp AT TIME ZONE s.timezone",
            until=filters.until,
        )
    if filters.text:
        where.add(
            """(a.subject ILIKE %(text)s OR h.label ILIKE %(text)s
                OR a.summary_args::text ILIKE %(text)s
                OR a.summary_key = ANY(%(text_keys)s::text[]))""",
            text=_like(filters.text),
            text_keys=sorted(filters.summary_keys),
        )
    return where


async def table_page(
    conn: psycopg.AsyncConnection[TupleRow],
    visibility: Visibility,
    filters: TableFilter,
    sort: Sort,
    *,
    after: tuple[object, int] | None = None,
    limit: int = 50,
) -> list[TableRow]:
    """A page of the table; `after` is (sort value, id) of the previous page's last row."""
    expression = SORTS[sort.key]
    where = _where(visibility, filters)
    direction, compare = ("DESC", "<") if sort.descending else ("ASC", ">")
    if after is not None:
        value, after_id = after
        where.add(
            f"({expression}, a.id) {compare} (%(after_value)s, %(after_id)s)",
            after_value=value,
            after_id=after_id,
        )
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"""
            SELECT {_A_COLUMNS}, h.label AS household_label, {_BUILDING} AS building_id,
                   s.timezone AS site_timezone, {expression} AS sort_value
            FROM alerts a {_JOINS} {where.sql()}
            ORDER BY {expression} {direction}, a.id {direction} LIMIT %(limit)s
            """,
            {**where.params, "limit": limit},
        )
        rows = await cur.fetchall()
    extras = [
        (row.pop("household_label"), row.pop("building_id"), row.pop("site_timezone"),
         row.pop("sort_value"))
        for row in rows
    ]  # fmt: skip
    # The devices and households by the names people gave them (store.alerts.named).
    alerts = await named_async(conn, [Alert(**row) for row in rows])
    return [
        TableRow(
            household_label=label,
            building_id=building,
            site_timezone=zone,
            sort_value=value,
            alert=alert,
        )
        for (label, building, zone, value), alert in zip(extras, alerts, strict=True)
    ]


async def summary_keys(
    conn: psycopg.AsyncConnection[TupleRow], visibility: Visibility
) -> list[str]:
    """The summary templates of the alerts the caller sees: what a text search translates."""
    where = Where()
    visible_alerts(where, visibility)
    cur = await conn.execute(
        f"SELECT DISTINCT a.summary_key FROM alerts a {where.sql()}", where.params
    )
    return [str(key) for (key,) in await cur.fetchall()]


async def visible_ids(
    conn: psycopg.AsyncConnection[TupleRow], visibility: Visibility, ids: Collection[int]
) -> list[int]:
    """Those of `ids` that are alerts the caller may see, in ascending order."""
    where = Where()
    where.add("a.id = ANY(%(ids)s::bigint[])", ids=sorted(set(ids)))
    visible_alerts(where, visibility)
    cur = await conn.execute(f"SELECT a.id FROM alerts a {where.sql()} ORDER BY a.id", where.params)
    return [int(alert_id) for (alert_id,) in await cur.fetchall()]
