"""Store gateways' descriptions of devices: register the device if new (silent: no first_seen),
merge the description into its attrs, and take its suggestions without touching what people
confirmed (a confirmed kind, a household role, a name)."""

from __future__ import annotations

from collections.abc import Iterable

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from store.records import DeviceDescription

_UPSERT_SITES = """
INSERT INTO sites (id) SELECT DISTINCT unnest(%s::text[]) ORDER BY 1 ON CONFLICT (id) DO NOTHING
"""

# In (site, device) order, as the registry's upsert, so concurrent writers lock rows alike.
# A new suggestion replaces an older one; a kind people confirmed stays.
_UPSERT_DESCRIBED = """
INSERT INTO devices (site_id, device_key, name, attrs, kind, role_suggested, role_room_suggested)
SELECT site, dev, name, attrs, kind, role, room
FROM unnest(%s::text[], %s::text[], %s::text[], %s::jsonb[], %s::text[], %s::text[], %s::text[])
    AS t(site, dev, name, attrs, kind, role, room)
ORDER BY site, dev
ON CONFLICT (site_id, device_key) DO UPDATE SET
    attrs = devices.attrs || excluded.attrs,
    name = coalesce(devices.name, excluded.name),
    kind = CASE WHEN devices.kind_confirmed THEN devices.kind
                ELSE coalesce(excluded.kind, devices.kind) END,
    role_suggested = coalesce(excluded.role_suggested, devices.role_suggested),
    role_room_suggested = CASE WHEN excluded.role_suggested IS NULL
                               THEN devices.role_room_suggested
                               ELSE excluded.role_room_suggested END
RETURNING id, site_id, device_key
"""

_INSERT_ALIASES = """
INSERT INTO device_aliases (source, name, device_id)
SELECT * FROM unnest(%s::text[], %s::text[], %s::bigint[])
ON CONFLICT (source, name) DO NOTHING
"""


def store_descriptions(
    cur: psycopg.Cursor[TupleRow], descriptions: Iterable[DeviceDescription]
) -> int:
    """Apply the descriptions in the caller's transaction; returns how many devices they cover.
    A device described twice takes the last description."""
    latest = {(d.site, d.device): d for d in descriptions}
    if not latest:
        return 0
    items = [latest[key] for key in sorted(latest)]
    cur.execute(_UPSERT_SITES, (sorted({d.site for d in items}),))
    cur.execute(
        _UPSERT_DESCRIBED,
        (
            [d.site for d in items],
            [d.device for d in items],
            [d.name for d in items],
            [Jsonb(d.attrs) for d in items],
            [d.kind for d in items],
            [d.role for d in items],
            [d.role_room for d in items],
        ),
    )
    ids = {(site, device): int(i) for i, site, device in cur.fetchall()}
    aliases = [(d.alias, ids[(d.site, d.device)]) for d in items if d.alias is not None]
    if aliases:
        cur.execute(
            _INSERT_ALIASES,
            (
                [a.source for a, _ in aliases],
                [a.name for a, _ in aliases],
                [device_id for _, device_id in aliases],
            ),
        )
    return len(items)
