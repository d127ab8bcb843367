"""Batch → per-series numpy arrays (sorted by ts); window helpers shared by rules.

Invariants every rule can rely on, established here and nowhere else:

- a `Series` has float64 `ts` (epoch seconds) strictly increasing, and float64 `values`, all
  finite. Out-of-order input is sorted; of two readings with the same timestamp the first one
  received is kept, as the store's `ON CONFLICT DO NOTHING` keeps it.
- NaN (and ±inf) values are dropped: a gap is the absence of samples, never a value. Ingest
  rejects non-finite values already; history loaded for a backtest may mark gaps with NaN. Rules
  measure holds between timestamps, so a gap neither resets a pending hold nor completes one.
- an `EventSeries` holds one device's events of one type in time order, exact duplicates
  (same timestamp and subject) collapsed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from store.records import Event, Reading, StatusChange

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
#: (site, device, metric) for a series; (site, device, event type) for events.
Key = tuple[str, str, str]


def epoch_s(when: datetime) -> float:
    """Aware datetime → epoch seconds; a naive one is taken as UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def at_time(ts: float) -> datetime:
    """Epoch seconds → aware UTC datetime (for `Signal.at`)."""
    return datetime.fromtimestamp(ts, UTC)


def state_key(site: str, device: str, name: str) -> str:
    """The rule-state key of a series or event stream; ids never contain '/'."""
    return f"{site}/{device}/{name}"


@dataclass(frozen=True, slots=True, eq=False)
class Series:
    site: str
    device: str
    metric: str
    ts: FloatArray
    values: FloatArray

    @classmethod
    def of(
        cls,
        site: str,
        device: str,
        metric: str,
        ts: Sequence[float] | FloatArray,
        values: Sequence[float] | FloatArray,
    ) -> Series:
        """A series from samples in any order, NaN included (see the module invariants)."""
        t = np.asarray(ts, dtype=np.float64)
        v = np.asarray(values, dtype=np.float64)
        if t.shape != v.shape or t.ndim != 1:
            raise ValueError(f"ts and values must be 1-d of one length, got {t.shape}, {v.shape}")
        keep = np.isfinite(v) & np.isfinite(t)
        t, v = t[keep], v[keep]
        order = np.argsort(t, kind="stable")
        t, v = t[order], v[order]
        if t.size > 1:
            first = np.concatenate(([True], np.diff(t) > 0))
            t, v = t[first], v[first]
        return cls(site, device, metric, t, v)

    @property
    def key(self) -> str:
        return state_key(self.site, self.device, self.metric)

    def __len__(self) -> int:
        return int(self.ts.size)

    def after(self, t: float | None) -> Series:
        """The samples strictly later than `t` (all of them when `t` is None)."""
        if t is None:
            return self
        start = int(np.searchsorted(self.ts, t, side="right"))
        return Series(self.site, self.device, self.metric, self.ts[start:], self.values[start:])


@dataclass(frozen=True, slots=True, eq=False)
class EventSeries:
    site: str
    device: str
    type: str
    ts: FloatArray
    events: tuple[Event, ...]

    @classmethod
    def of(cls, site: str, device: str, type_: str, events: Iterable[Event]) -> EventSeries:
        ordered = sorted(events, key=lambda e: epoch_s(e.ts))  # stable: arrival order on ties
        unique: list[Event] = []
        seen: set[tuple[float, str | None]] = set()
        for e in ordered:
            mark = (epoch_s(e.ts), e.subject)
            if mark not in seen:
                seen.add(mark)
                unique.append(e)
        ts = np.array([epoch_s(e.ts) for e in unique], dtype=np.float64)
        return cls(site, device, type_, ts, tuple(unique))

    @property
    def key(self) -> str:
        return state_key(self.site, self.device, self.type)

    def __len__(self) -> int:
        return len(self.events)

    def after(self, t: float | None) -> EventSeries:
        if t is None:
            return self
        start = int(np.searchsorted(self.ts, t, side="right"))
        return EventSeries(self.site, self.device, self.type, self.ts[start:], self.events[start:])


@dataclass(frozen=True, slots=True)
class BatchView:
    """What a rule sees of one batch (or of history loaded for a backtest or scheduled rule)."""

    series: Mapping[Key, Series] = field(default_factory=dict)
    events: Mapping[Key, EventSeries] = field(default_factory=dict)
    #: `status` messages (online/offline, last wills), in time order.
    statuses: tuple[StatusChange, ...] = ()

    def of_metric(self, metric: str) -> list[Series]:
        return [s for (_, _, m), s in sorted(self.series.items()) if m == metric and len(s)]

    def of_type(self, type_: str) -> list[EventSeries]:
        return [e for (_, _, t), e in sorted(self.events.items()) if t == type_ and len(e)]

    def devices(self) -> list[tuple[str, str]]:
        """Every (site, device) with a series or events in the view, sorted."""
        found = {(s, d) for s, d, _ in self.series} | {(s, d) for s, d, _ in self.events}
        found |= {(st.site, st.device) for st in self.statuses}
        return sorted(found)

    @property
    def is_empty(self) -> bool:
        """No data at all: a timer tick, which only lets time pass."""
        return not self.series and not self.events and not self.statuses


def view_of(
    readings: Iterable[Reading],
    events: Iterable[Event] = (),
    statuses: Iterable[StatusChange] = (),
) -> BatchView:
    """Group readings per (site, device, metric) and events per (site, device, type)."""
    samples: dict[Key, tuple[list[float], list[float]]] = {}
    for r in readings:
        ts, values = samples.setdefault((r.site, r.device, r.metric), ([], []))
        ts.append(epoch_s(r.ts))
        values.append(r.value)
    grouped: dict[Key, list[Event]] = {}
    for e in events:
        grouped.setdefault((e.site, e.device, e.type), []).append(e)
    return BatchView(
        series={k: Series.of(*k, ts, values) for k, (ts, values) in samples.items()},
        events={k: EventSeries.of(*k, evs) for k, evs in grouped.items()},
        statuses=tuple(sorted(statuses, key=lambda st: epoch_s(st.ts))),
    )


def rising_edges(values: FloatArray, previous: float | None, level: float = 0.5) -> BoolArray:
    """A boolean mask of the samples where `values` crosses above `level` from at or below it.

    `previous` is the value before the first sample (from the rule's state); None counts as
    below, so a first-ever reading of 1 is an edge.
    """
    high = values > level
    before = np.concatenate(([previous is not None and previous > level], high[:-1]))
    return high & ~before


def falling_edges(values: FloatArray, previous: float | None, level: float = 0.5) -> BoolArray:
    """Samples crossing to at or below `level` from above it; None before the first is low."""
    low = values <= level
    before_high = np.concatenate(([previous is not None and previous > level], ~low[:-1]))
    return low & before_high
