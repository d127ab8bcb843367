"""Alert reads only the dashboard needs: the alerts about one device, and the devices that
alerts are about (to link to their charts), narrowed to a Visibility."""

from __future__ import annotations

from collections.abc import Collection

import psycopg
from psycopg.rows import TupleRow, class_row

from store.access.visibility import Visibility, Where, visible_alerts, visible_devices
from store.alerts.records import Alert
from store.alerts.rows import alert_columns

_A_COLUMNS = alert_columns("a")


async def alerts_about(
    conn: psycopg.AsyncConnection[TupleRow],
    visibility: Visibility,
    site_id: str,
    subject: str,
    *,
    limit: int = 20,
) -> list[Alert]:
    """Alerts about `subject` (a device id) at a site, unresolved first, newest first."""
    where = Where()
    where.add("a.site_id = %(site)s AND a.subject = %(subject)s", site=site_id, subject=subject)
    visible_alerts(where, visibility)
    async with conn.cursor(row_factory=class_row(Alert)) as cur:
        await cur.execute(
            f"""
            SELECT {_A_COLUMNS} FROM alerts a {where.sql()}
            ORDER BY (a.status = 'resolved'), a.id DESC LIMIT %(limit)s
            """,
            {**where.params, "limit": limit},
        )
        return await cur.fetchall()


async def device_ids(
    conn: psycopg.AsyncConnection[TupleRow],
    visibility: Visibility,
    keys: Collection[tuple[str, str]],
) -> dict[tuple[str, str], int]:
    """The numeric ids of the devices named by (site, device id) that the caller may see."""
    if not keys:
        return {}
    ordered = sorted(set(keys))
    where = Where()
    where.add(
        """(d.site_id, d.device_key) IN (
            SELECT * FROM unnest(%(k_sites)s::text[], %(k_keys)s::text[]))""",
        k_sites=[s for s, _ in ordered],
        k_keys=[k for _, k in ordered],
    )
    visible_devices(where, visibility)
    cur = await conn.execute(
        f"SELECT d.site_id, d.device_key, d.id FROM devices d {where.sql()}", where.params
    )
    return {(str(site), str(key)): int(device_id) for site, key, device_id in await cur.fetchall()}


async def open_counts_by_site(
    conn: psycopg.AsyncConnection[TupleRow], visibility: Visibility
) -> dict[str, int]:
    """Unresolved alerts per site, of those the caller may see."""
    where = Where()
    where.add("a.status <> 'resolved'")
    visible_alerts(where, visibility)
    cur = await conn.execute(
        f"SELECT a.site_id, count(*) FROM alerts a {where.sql()} GROUP BY a.site_id", where.params
    )
    return {str(site): int(count) for site, count in await cur.fetchall()}
