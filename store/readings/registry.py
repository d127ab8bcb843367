"""Device and series ids: (site, device) -> device id and (device id, metric) -> series id.

The ids are cached in process; a miss is upserted in the writer's transaction. Ids learnt in a
transaction only enter the cache after it commits (`remember`), so a rolled-back insert never
leaves a dangling id behind. A device registered before it spoke (by people, or by a gateway's
device list) keeps its row and facts; its first message sets `first_seen`. `last_seen` is
written at most every `last_seen_resolution_s` per device: it keeps hot devices from taking a
row lock in every batch, which would serialise concurrent ingest workers on the same devices.
A device gets new series only while it has fewer than `max_series_per_device`; workers adding
series to one device take turns on its row, so the limit holds across workers.
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
    first_seen = coalesce(devices.first_seen, excluded.first_seen),
    kind = coalesce(devices.kind, excluded.kind)
RETURNING id, site_id, device_key
"""

# Locks the devices that would get a new series, so that workers adding series to one device
# take turns and each counts what the other added (the next statement sees it: READ
# COMMITTED). NO KEY UPDATE, not UPDATE: foreign-key checks on the device may go on.
_LOCK_DEVICES_GETTING_SERIES = """
SELECT id FROM devices
WHERE id IN (
    SELECT w.device_id FROM unnest(%s::bigint[], %s::text[]) AS w(device_id, metric)
    WHERE NOT EXISTS (
        SELECT 1 FROM series s WHERE s.device_id = w.device_id AND s.metric = w.metric
    )
)
ORDER BY id
FOR NO KEY UPDATE
"""

# The ids of the wanted series: the stored ones, and new ones while their device stays within
# the limit (NULL: none), admitted in the order they are wanted.
_UPSERT_SERIES = """
WITH wanted AS (
    SELECT * FROM unnest(%(devices)s::bigint[], %(metrics)s::text[])
        WITH ORDINALITY AS w(device_id, metric, ord)
), known AS (
    SELECT s.id, s.device_id, s.metric FROM series s JOIN wanted w USING (device_id, metric)
), fresh AS (
    SELECT w.device_id, w.metric,
           row_number() OVER (PARTITION BY w.device_id ORDER BY w.ord) AS nth
    FROM wanted w
    WHERE NOT EXISTS (
        SELECT 1 FROM known k WHERE k.device_id = w.device_id AND k.metric = w.metric
    )
), held AS (
    SELECT s.device_id, count(*) AS n FROM series s
    WHERE s.device_id IN (SELECT device_id FROM fresh)
    GROUP BY 1
), added AS (
    INSERT INTO series (device_id, metric)
    SELECT f.device_id, f.metric FROM fresh f LEFT JOIN held h USING (device_id)
    WHERE %(limit)s::integer IS NULL OR coalesce(h.n, 0) + f.nth <= %(limit)s::integer
    ORDER BY 1, 2
    ON CONFLICT (device_id, metric) DO UPDATE SET metric = excluded.metric
    RETURNING id, device_id, metric
)
SELECT id, device_id, metric FROM known
UNION ALL
SELECT id, device_id, metric FROM added
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
    def __init__(
        self, last_seen_resolution_s: float = 10.0, max_series_per_device: int | None = None
    ) -> None:
        self._resolution = timedelta(seconds=last_seen_resolution_s)
        #: None: no limit.
        self.max_series_per_device = max_series_per_device
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
        """Series ids of the (device id, metric) keys; new series are created in key order
        while their device has fewer than `max_series_per_device`. A key left out of the
        result is over that limit: its readings are not to be stored."""
        ids: dict[tuple[int, str], int] = {}
        missing: list[tuple[int, str]] = []
        for key in keys:
            series_id = self._series.get(key)
            if series_id is None:
                missing.append(key)
            else:
                ids[key] = series_id
        if missing:
            devices, metrics = [k[0] for k in missing], [k[1] for k in missing]
            if self.max_series_per_device is not None:
                cur.execute(_LOCK_DEVICES_GETTING_SERIES, (devices, metrics))
            cur.execute(
                _UPSERT_SERIES,
                {"devices": devices, "metrics": metrics, "limit": self.max_series_per_device},
            )
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
