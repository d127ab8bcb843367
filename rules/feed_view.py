"""store.readings.feed batches -> BatchView, per site, without one Python object per reading.

Feed readings arrive as parallel arrays keyed by series id; grouping them per series is one
stable argsort. Names (series id -> site, device, metric) are cached and fetched on a miss:
series are only ever added, never renamed.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg.rows import TupleRow

from rules.arrays import BatchView, EventSeries, Key, Series
from store.readings import feed
from store.readings.feed import FeedBatch
from store.records import Event


class FeedNames:
    def __init__(self) -> None:
        self._series: dict[int, tuple[str, str, str]] = {}
        self._devices: dict[int, tuple[str, str]] = {}

    def fill(self, conn: psycopg.Connection[TupleRow], batches: Collection[FeedBatch]) -> None:
        """Fetch the names these batches use that are not cached yet."""
        series = {int(i) for b in batches for i in np.unique(b.series_ids)} - self._series.keys()
        if series:
            self._series.update(feed.series_names(conn, series))
        devices = {e[0] for b in batches for e in b.events} - self._devices.keys()
        if devices:
            self._devices.update(feed.device_names(conn, devices))

    def series(self, series_id: int) -> tuple[str, str, str] | None:
        return self._series.get(series_id)

    def device(self, device_id: int) -> tuple[str, str] | None:
        return self._devices.get(device_id)


def view_of_feed(batch: FeedBatch, names: FeedNames, sites: Collection[str]) -> BatchView:
    """The part of `batch` that belongs to `sites`, as a BatchView (names must be filled)."""
    series: dict[Key, Series] = {}
    if batch.series_ids.size:
        order = np.argsort(batch.series_ids, kind="stable")  # keeps arrival order within a series
        sids = batch.series_ids[order]
        starts = np.flatnonzero(np.concatenate(([True], sids[1:] != sids[:-1])))
        ends = np.append(starts[1:], sids.size)
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            name = names.series(int(sids[start]))
            if name is None or name[0] not in sites:
                continue
            take = order[start:end]
            series[name] = Series.of(*name, batch.epochs[take], batch.values[take])
    grouped: dict[Key, list[Event]] = {}
    for device_id, epoch, type_, subject, attrs in batch.events:
        ref = names.device(device_id)
        if ref is None or ref[0] not in sites:
            continue
        event = Event(
            ref[0], ref[1], datetime.fromtimestamp(epoch, UTC), type_, subject or None, attrs
        )
        grouped.setdefault((ref[0], ref[1], type_), []).append(event)
    return BatchView(
        series=series,
        events={k: EventSeries.of(*k, evs) for k, evs in grouped.items()},
        statuses=tuple(s for s in batch.statuses if s.site in sites),
    )


def data_epochs(batch: FeedBatch) -> npt.NDArray[np.float64]:
    """The batch's data timestamps, readings' and events': what event time is made of.

    Status messages do not count: they carry no device time (ingest stamps them when they
    arrive), so in a replay of old data they would drag the clock to the present."""
    events = np.fromiter((e[1] for e in batch.events), dtype=np.float64, count=len(batch.events))
    return np.concatenate((batch.epochs.astype(np.float64, copy=False), events))
