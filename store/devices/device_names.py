"""The names people gave devices, looked up by (site, device id) in one query for many.

Whatever shows a device (alert summaries, notifications, pages) asks here when it renders, so a
rename shows everywhere at once; the reader's language picks among the names
(i18n.given_names). A device without a name is left out: callers show its id.
"""

from __future__ import annotations

from collections.abc import Iterable

import psycopg
from psycopg.rows import TupleRow

from i18n.given_names import GivenName

#: (site id, device id)
DeviceRef = tuple[str, str]

_NAMES = """
SELECT d.site_id, d.device_key, d.name, d.names
FROM devices d
JOIN unnest(%s::text[], %s::text[]) AS k(site_id, device_key)
  ON d.site_id = k.site_id AND d.device_key = k.device_key
WHERE d.name IS NOT NULL OR d.names <> '{}'::jsonb
"""


def _params(refs: Iterable[DeviceRef]) -> tuple[list[str], list[str]] | None:
    unique = sorted(set(refs))
    if not unique:
        return None
    return [site for site, _ in unique], [key for _, key in unique]


def _named(
    rows: list[tuple[str, str, str | None, dict[str, str] | None]],
) -> dict[DeviceRef, GivenName]:
    return {(site, key): GivenName(name, dict(names or {})) for site, key, name, names in rows}


def names_of(
    conn: psycopg.Connection[TupleRow], refs: Iterable[DeviceRef]
) -> dict[DeviceRef, GivenName]:
    params = _params(refs)
    if params is None:
        return {}
    return _named(conn.execute(_NAMES, params).fetchall())


async def names_of_async(
    conn: psycopg.AsyncConnection[TupleRow], refs: Iterable[DeviceRef]
) -> dict[DeviceRef, GivenName]:
    params = _params(refs)
    if params is None:
        return {}
    cur = await conn.execute(_NAMES, params)
    return _named(await cur.fetchall())
