"""Device registry reads for the API: lists with filters and keyset pages, detail, latest values,
and a site's overview (devices by kind and state, open alerts), all narrowed to a Visibility."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import psycopg
from psycopg.rows import TupleRow, class_row

from i18n.given_names import pick
from store.access.visibility import Visibility, Where, visible_alerts, visible_devices

#: A device's state in lists and the overview: it has an open alert, else online/offline/unknown
#: by its status messages, or judged from its data when it sends none (device_state() in
#: migrations/0016_device_state.sql, the one definition every read uses).
DEVICE_STATES = ("alerting", "online", "offline", "unknown")
#: The kind the overview counts devices under whose kind nobody knows yet (kind IS NULL).
UNKNOWN_KIND = "unknown"


@dataclass(frozen=True, slots=True)
class DeviceRow:
    id: int
    site_id: str
    device_key: str
    kind: str | None
    name: str | None
    online: bool | None
    status_changed_at: datetime | None
    #: "online", "offline" or "unknown" (never heard from).
    state: str
    #: Where `state` comes from: "status" (its status messages), "data" (judged from how
    #: long it has been silent against its usual interval), None (never heard from).
    state_source: str | None
    #: None: registered by people (or a gateway's device list) and not heard from yet.
    first_seen: datetime | None
    last_seen: datetime | None
    household_id: str | None
    #: Language tag -> name, for readers of that language (`name` for everyone else).
    names: dict[str, str]
    #: A person set the kind (else ingest suggested it).
    kind_confirmed: bool
    building_id: str | None
    unit: str | None
    room: str | None
    installed_on: date | None
    notes: str | None
    #: The device's role in its household: people's, else the suggestion (household_device_roles).
    role: str | None
    role_room: str | None
    role_confirmed: bool
    attrs: dict[str, object]


@dataclass(frozen=True, slots=True)
class SeriesRow:
    id: int
    metric: str


@dataclass(frozen=True, slots=True)
class LatestValue:
    series_id: int
    metric: str
    ts: datetime | None
    value: float | None


@dataclass(frozen=True, slots=True)
class StateCount:
    kind: str
    state: str
    count: int


@dataclass(frozen=True, slots=True)
class AlertCount:
    category: str
    severity: str
    count: int


@dataclass(frozen=True, slots=True)
class AttentionRow:
    id: int
    device_key: str
    kind: str | None
    state: str
    worst_severity: str | None
    last_seen: datetime
    name: str | None
    names: dict[str, str]


_COLUMNS = """
    d.id, d.site_id, d.device_key, d.kind, d.name, d.online, d.status_changed_at,
    device_state(d) AS state, device_state_source(d) AS state_source, d.first_seen,
    d.last_seen, hd.household_id, d.names, d.kind_confirmed, d.building_id, d.unit, d.room,
    d.installed_on, d.notes, hr.role, hr.role_room, coalesce(hr.role_confirmed, false)
    AS role_confirmed, d.attrs
"""
_FROM = """
FROM devices d
LEFT JOIN household_devices hd ON hd.site_id = d.site_id AND hd.device_key = d.device_key
LEFT JOIN household_device_roles hr ON hr.site_id = d.site_id AND hr.device_key = d.device_key
"""
_STATUS = {
    # An open alert about the device (as the overview counts "alerting").
    "alerting": (
        "EXISTS (SELECT 1 FROM alerts a WHERE a.site_id = d.site_id"
        " AND a.subject = d.device_key AND a.status <> 'resolved')"
    ),
    "online": "device_state(d) = 'online'",
    "offline": "device_state(d) = 'offline'",
    "unknown": "device_state(d) = 'unknown'",
}


def display_name(row: DeviceRow, language: str) -> str:
    """The name a reader of `language` gets: theirs ("zh-CN", else "zh"), else the name people
    gave, else the device id."""
    return pick(row.name, row.names, language) or row.device_key


async def list_devices(
    conn: psycopg.AsyncConnection[TupleRow],
    visibility: Visibility,
    *,
    site_id: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    household_id: str | None = None,
    building_id: str | None = None,
    search: str | None = None,
    after: tuple[str, str] | None = None,
    limit: int = 100,
) -> list[DeviceRow]:
    """Devices ordered by (site, device id); `after` is the last (site, device id) of a page.
    `kind` "unknown" selects devices of no kind; `status` "alerting" those with an open alert.
    `search` matches the device id, its name or a name in any language, in any case."""
    where = Where()
    visible_devices(where, visibility)
    if site_id is not None:
        where.add("d.site_id = %(site)s", site=site_id)
    if kind == UNKNOWN_KIND:
        where.add("d.kind IS NULL")
    elif kind is not None:
        where.add("d.kind = %(kind)s", kind=kind)
    if status is not None:
        where.add(_STATUS[status])
    if household_id is not None:
        where.add("hd.household_id = %(household)s", household=household_id)
    if building_id is not None:
        where.add("d.building_id = %(building)s", building=building_id)
    if search is not None:
        where.add(
            "(d.device_key ILIKE %(search)s OR d.name ILIKE %(search)s"
            " OR EXISTS (SELECT 1 FROM jsonb_each_text(d.names) n WHERE n.value ILIKE %(search)s))",
            search=_contains(search),
        )
    if after is not None:
        where.add(
            "(d.site_id, d.device_key) > (%(after_site)s, %(after_key)s)",
            after_site=after[0],
            after_key=after[1],
        )
    async with conn.cursor(row_factory=class_row(DeviceRow)) as cur:
        await cur.execute(
            f"SELECT {_COLUMNS} {_FROM} {where.sql()}"
            " ORDER BY d.site_id, d.device_key LIMIT %(limit)s",
            {**where.params, "limit": limit},
        )
        return await cur.fetchall()


def _contains(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def get_device(
    conn: psycopg.AsyncConnection[TupleRow], visibility: Visibility, device_id: int
) -> DeviceRow | None:
    where = Where()
    where.add("d.id = %(id)s", id=device_id)
    visible_devices(where, visibility)
    async with conn.cursor(row_factory=class_row(DeviceRow)) as cur:
        await cur.execute(f"SELECT {_COLUMNS} {_FROM} {where.sql()}", where.params)
        return await cur.fetchone()


async def series_of(conn: psycopg.AsyncConnection[TupleRow], device_id: int) -> list[SeriesRow]:
    async with conn.cursor(row_factory=class_row(SeriesRow)) as cur:
        await cur.execute(
            "SELECT id, metric FROM series WHERE device_id = %s ORDER BY metric", (device_id,)
        )
        return await cur.fetchall()


async def latest_values(
    conn: psycopg.AsyncConnection[TupleRow], device_id: int
) -> list[LatestValue]:
    """The newest reading of each of the device's metrics (one index probe per series)."""
    async with conn.cursor(row_factory=class_row(LatestValue)) as cur:
        await cur.execute(
            """
            SELECT s.id AS series_id, s.metric, r.ts, r.value
            FROM series s
            LEFT JOIN LATERAL (
                SELECT ts, value FROM readings WHERE series_id = s.id ORDER BY ts DESC LIMIT 1
            ) r ON true
            WHERE s.device_id = %s
            ORDER BY s.metric
            """,
            (device_id,),
        )
        return await cur.fetchall()


# Open alerts by subject (the device id of most rules), worst severity first.
_OPEN_BY_SUBJECT = """
SELECT a.subject,
       max(array_position(ARRAY['info', 'warning', 'critical'], a.severity)) AS worst
FROM alerts a
{where}
GROUP BY a.subject
"""
_STATE = """
CASE WHEN oa.worst IS NOT NULL THEN 'alerting' ELSE device_state(d) END
"""


def _open_alerts_where(visibility: Visibility, site_id: str) -> Where:
    where = Where()
    where.add("a.site_id = %(site)s AND a.status <> 'resolved'", site=site_id)
    visible_alerts(where, visibility)
    return where


async def overview(
    conn: psycopg.AsyncConnection[TupleRow],
    visibility: Visibility,
    site_id: str,
    attention_limit: int = 50,
) -> tuple[list[StateCount], list[AlertCount], list[AttentionRow]]:
    """A site at a glance: devices by (kind, state), open alerts by (category, severity), and
    the devices that need attention (alerting, then offline), worst first."""
    alerts_where = _open_alerts_where(visibility, site_id)
    open_by_subject = _OPEN_BY_SUBJECT.format(where=alerts_where.sql())
    devices_where = Where()
    devices_where.add("d.site_id = %(site)s", site=site_id)
    visible_devices(devices_where, visibility)
    params = {**alerts_where.params, **devices_where.params, "limit": attention_limit}
    base = f"""
        FROM devices d LEFT JOIN ({open_by_subject}) oa ON oa.subject = d.device_key
        {devices_where.sql()}
    """
    async with conn.cursor(row_factory=class_row(StateCount)) as cur:
        await cur.execute(
            f"""
            SELECT coalesce(d.kind, 'unknown') AS kind, {_STATE} AS state, count(*) AS count
            {base} GROUP BY 1, 2 ORDER BY 1, 2
            """,
            params,
        )
        states = await cur.fetchall()
    async with conn.cursor(row_factory=class_row(AlertCount)) as cur:
        await cur.execute(
            f"""
            SELECT a.category, a.severity, count(*) AS count FROM alerts a {alerts_where.sql()}
            GROUP BY 1, 2 ORDER BY 1, 2
            """,
            alerts_where.params,
        )
        alerts = await cur.fetchall()
    async with conn.cursor(row_factory=class_row(AttentionRow)) as cur:
        await cur.execute(
            f"""
            SELECT d.id, d.device_key, d.kind, {_STATE} AS state,
                   (ARRAY['info', 'warning', 'critical'])[oa.worst] AS worst_severity,
                   d.last_seen, d.name, d.names
            {base} AND (oa.worst IS NOT NULL OR device_state(d) = 'offline')
              AND d.last_seen IS NOT NULL  -- registered, never heard from: nothing to see yet
            ORDER BY oa.worst DESC NULLS LAST, d.last_seen, d.device_key
            LIMIT %(limit)s
            """,
            params,
        )
        attention = await cur.fetchall()
    return states, alerts, attention


@dataclass(frozen=True, slots=True)
class KindRow:
    code: str
    category: str
    household_role: str | None
    name: str | None
    names: dict[str, str]
    builtin: bool


async def kinds(conn: psycopg.AsyncConnection[TupleRow]) -> list[KindRow]:
    """The kind catalogue: shipped kinds, then operators' own, each by code."""
    async with conn.cursor(row_factory=class_row(KindRow)) as cur:
        await cur.execute(
            "SELECT code, category, household_role, name, names, builtin FROM device_kinds"
            " ORDER BY NOT builtin, code"
        )
        return await cur.fetchall()
