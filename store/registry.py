"""Device and series ids: (site, device) -> device id and (device id, metric) -> series id.

The ids are cached in process; a miss is upserted in the writer's transaction. Ids learnt in a
transaction only enter the cache after it commits (`remember`), so a rolled-back insert never
leaves a dangling id behind. `last_seen` is written at most every `last_seen_resolution_s` per
device: it keeps hot devices from taking a row lock in every batch, which would serialise
concurrent ingest workers on the same devices.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import psycopg
from psycopg.rows import TupleRow

from store.records import Alias

#: (site, device id): a plain tuple, cheaper to build and hash than a dataclass on the hot path.
DeviceKey = tuple[str, str]

_UPSERT_SITES = """
INSERT INTO sites (id) SELECT unnest(%s::text[]) ORDER BY 1 ON CONFLICT (id) DO NOTHING
"""

_UPSERT_DEVICES = """
INSERT INTO devices (site_id, device_key, kind, first_seen, last_seen)
SELECT site, dev, kind, seen, seen
FROM unnest(%s::text[], %s::text[], %s::text[], %s::timestamptz[]) AS t(site, dev, kind, seen)
ORDER BY site, dev
ON CONFLICT (site_id, device_key) DO UPDATE
SET last_seen = greatest(devices.last_seen, excluded.last_seen),
    kind = coalesce(devices.kind, excluded.kind)
RETURNING id, site_id, device_key
"""

_UPSERT_SERIES = """
INSERT INTO series (device_id, metric)
SELECT * FROM unnest(%s::bigint[], %s::text[]) AS t(device_id, metric)
ORDER BY 1, 2
ON CONFLICT (device_id, metric) DO UPDATE SET metric = excluded.metric
RETURNING id, device_id, metric
"""

_INSERT_ALIASES = """
INSERT INTO device_aliases (source, name, device_id)
SELECT * FROM unnest(%s::text[], %s::text[], %s::bigint[])
ON CONFLICT (source, name) DO NOTHING
"""


@dataclass(slots=True)
class DeviceTouch:
    """What a batch says about one device: when it was last heard from, and its kind if known."""

    last_seen: datetime
    kind: str | None = None


@dataclass(slots=True)
class Learnt:
    """Ids and timestamps learnt in one transaction, to remember once it commits."""

    sites: set[str] = field(default_factory=set)
    devices: dict[DeviceKey, int] = field(default_factory=dict)
    series: dict[tuple[int, str], int] = field(default_factory=dict)
    last_seen: dict[int, datetime] = field(default_factory=dict)
    kinds: set[int] = field(default_factory=set)
    aliases: set[tuple[str, str]] = field(default_factory=set)


class Registry:
    def __init__(self, last_seen_resolution_s: float = 10.0) -> None:
        self._resolution = timedelta(seconds=last_seen_resolution_s)
        self._sites: set[str] = set()
        self._devices: dict[DeviceKey, int] = {}
        self._series: dict[tuple[int, str], int] = {}
        self._last_seen: dict[int, datetime] = {}
        self._kind_known: set[int] = set()
        self._aliases: set[tuple[str, str]] = set()

    def resolve_devices(
        self,
        cur: psycopg.Cursor[TupleRow],
        touches: dict[DeviceKey, DeviceTouch],
        learnt: Learnt,
    ) -> dict[DeviceKey, int]:
        """Device ids for every device of the batch; upserts new ones and stale last_seen."""
        new_sites = sorted({site for site, _ in touches} - self._sites)
        if new_sites:
            cur.execute(_UPSERT_SITES, (new_sites,))
            learnt.sites.update(new_sites)
        ids: dict[DeviceKey, int] = {}
        to_write: list[tuple[DeviceKey, DeviceTouch]] = []
        for ref, touch in touches.items():
            device_id = self._devices.get(ref)
            if device_id is None or self._needs_write(device_id, touch):
                to_write.append((ref, touch))
            else:
                ids[ref] = device_id
        if to_write:
            cur.execute(
                _UPSERT_DEVICES,
                (
                    [site for (site, _), _ in to_write],
                    [device for (_, device), _ in to_write],
                    [touch.kind for _, touch in to_write],
                    [touch.last_seen for _, touch in to_write],
                ),
            )
            for device_id, site, device in cur.fetchall():
                ref = (site, device)
                ids[ref] = int(device_id)
                learnt.devices[ref] = ids[ref]
                learnt.last_seen[ids[ref]] = touches[ref].last_seen
                if touches[ref].kind is not None:
                    learnt.kinds.add(ids[ref])
        return ids

    def resolve_series(
        self,
        cur: psycopg.Cursor[TupleRow],
        keys: Iterable[tuple[int, str]],
        learnt: Learnt,
    ) -> dict[tuple[int, str], int]:
        ids: dict[tuple[int, str], int] = {}
        missing: list[tuple[int, str]] = []
        for key in keys:
            series_id = self._series.get(key)
            if series_id is None:
                missing.append(key)
            else:
                ids[key] = series_id
        if missing:
            cur.execute(_UPSERT_SERIES, ([k[0] for k in missing], [k[1] for k in missing]))
            for series_id, device_id, metric in cur.fetchall():
                key = (int(device_id), metric)
                ids[key] = int(series_id)
                learnt.series[key] = ids[key]
        return ids

    def register_aliases(
        self,
        cur: psycopg.Cursor[TupleRow],
        aliases: Iterable[Alias],
        device_ids: dict[DeviceKey, int],
        learnt: Learnt,
    ) -> None:
        fresh = {
            (alias.source, alias.name): device_ids[(alias.site, alias.device)]
            for alias in aliases
            if (alias.source, alias.name) not in self._aliases
        }
        if fresh:
            cur.execute(
                _INSERT_ALIASES,
                ([k[0] for k in fresh], [k[1] for k in fresh], list(fresh.values())),
            )
            learnt.aliases.update(fresh)

    def remember(self, learnt: Learnt) -> None:
        """Call after the transaction that learnt these ids committed."""
        self._sites |= learnt.sites
        self._devices.update(learnt.devices)
        self._series.update(learnt.series)
        self._last_seen.update(learnt.last_seen)
        self._kind_known |= learnt.kinds
        self._aliases |= learnt.aliases

    def _needs_write(self, device_id: int, touch: DeviceTouch) -> bool:
        if touch.kind is not None and device_id not in self._kind_known:
            return True
        written = self._last_seen.get(device_id)
        return written is None or touch.last_seen - written >= self._resolution
