"""Building views and reading signals back, for the catalogue's tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from rules.arrays import BatchView, EventSeries, Series, epoch_s
from rules.rule import Signal
from store.records import Event

T0 = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)
T0_S = epoch_s(T0)
SITE = "garden-court"


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def series(metric: str, samples: Sequence[tuple[float, float]], device: str = "dev1") -> BatchView:
    """A view of one series; samples are (seconds after T0, value) in any order."""
    s = Series.of(SITE, device, metric, [T0_S + t for t, _ in samples], [v for _, v in samples])
    return BatchView(series={(SITE, device, metric): s})


def events(type_: str, offsets: Sequence[float], device: str = "dev1") -> BatchView:
    evs = [Event(SITE, device, at(t), type_) for t in offsets]
    return BatchView(events={(SITE, device, type_): EventSeries.of(SITE, device, type_, evs)})


def merge(*views: BatchView) -> BatchView:
    return BatchView(
        series={k: v for view in views for k, v in view.series.items()},
        events={k: v for view in views for k, v in view.events.items()},
    )


def trace(signals: Sequence[Signal]) -> list[tuple[str, float]]:
    """Each signal as (state, seconds after T0): what the tables compare."""
    return [(s.state.value, (s.at - T0).total_seconds()) for s in signals]
