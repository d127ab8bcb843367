"""Slope rules (tank draining, pressure decay) with a least-squares fit over a window.

The slope is fitted over the samples within `window_s` before the newest one (the series'
history is kept in the state, bounded by `max_samples`), in units per hour. It is evaluated
once per batch, at the batch's newest sample: a trend is a property of the window, not of one
sample. Nothing is decided (neither fire nor clear) unless the window holds `min_samples` and
the samples span at least `min_coverage` of it, so a sensor that just came back from a gap
cannot fit a line through two points.

`op="<"` fires on a slope below `slope_per_h` (a tank falling faster than 5 %/h is
`slope_per_h=-5`), and clears when it is back at or above `clear_slope_per_h` (default: the
same limit). One series per rule: correlating with a pump's state is the engine's scope's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np

from rules.arrays import BatchView, FloatArray, at_time
from rules.rule import (
    Category,
    FlatState,
    ParamCheck,
    RuleState,
    Severity,
    Signal,
    SignalState,
)
from store.i18n import N_

FALLING = N_("{metric} on {device} is falling at {slope_per_h} per hour")
RISING = N_("{metric} on {device} is rising at {slope_per_h} per hour")
STEADY = N_("{metric} on {device} is steady again ({slope_per_h} per hour)")


@dataclass(frozen=True, slots=True)
class TrendParams:
    metric: str
    op: Literal["<", ">"]
    slope_per_h: float
    window_s: float
    clear_slope_per_h: float | None = None
    min_samples: int = 3
    min_coverage: float = 0.5
    #: A state bound: denser series are thinned evenly, which keeps the fit's span.
    max_samples: int = 256
    severity: Severity = Severity.WARNING
    category: Category = Category.MAINTENANCE

    def __post_init__(self) -> None:
        check = ParamCheck("trend")
        check.require(bool(self.metric), "metric", "must not be empty")
        check.one_of(self.op, ("<", ">"), "op")
        check.finite(self.slope_per_h, "slope_per_h")
        check.positive(self.window_s, "window_s")
        if self.clear_slope_per_h is not None:
            ok = (
                self.clear_slope_per_h >= self.slope_per_h
                if self.op == "<"
                else self.clear_slope_per_h <= self.slope_per_h
            )
            check.require(ok, "clear_slope_per_h", "must be on the normal side of slope_per_h")
        check.require(self.min_samples >= 2, "min_samples", "must be >= 2 to fit a line")
        check.require(0 <= self.min_coverage <= 1, "min_coverage", "must be in [0, 1]")
        check.require(
            self.max_samples >= max(self.min_samples, 2),
            "max_samples",
            "must be >= min_samples",
        )
        check.done()


@dataclass(frozen=True, slots=True)
class TrendState(FlatState):
    ts: tuple[float, ...] = ()
    values: tuple[float, ...] = ()
    firing: bool = False

    @property
    def last_ts(self) -> float | None:
        return self.ts[-1] if self.ts else None


def slope_per_h(ts: FloatArray, values: FloatArray) -> float:
    """Least-squares slope in units per hour (the closed form of a degree-1 polyfit)."""
    t = ts - ts.mean()
    # Rounded so that a line exactly at a limit compares equal to it despite float noise.
    return round(float((t @ (values - values.mean())) / (t @ t) * 3600.0), 9)


@dataclass(frozen=True, slots=True)
class TrendRule:
    id: str
    params: TrendParams

    def load_state(self, raw: Mapping[str, object]) -> RuleState[TrendState]:
        return RuleState.from_json(TrendState, raw)

    def evaluate(
        self, view: BatchView, state: RuleState[TrendState], now: datetime
    ) -> tuple[list[Signal], RuleState[TrendState]]:
        p = self.params
        signals: list[Signal] = []
        updates: dict[str, TrendState] = {}
        for series in view.of_metric(p.metric):
            old = state.get(series.key) or TrendState()
            fresh = series.after(old.last_ts)
            if not len(fresh):
                continue
            ts = np.concatenate((np.asarray(old.ts, dtype=np.float64), fresh.ts))
            values = np.concatenate((np.asarray(old.values, dtype=np.float64), fresh.values))
            inside = ts > ts[-1] - p.window_s
            ts, values = ts[inside], values[inside]
            if ts.size > p.max_samples:
                keep = np.unique(np.linspace(0, ts.size - 1, p.max_samples).round().astype(int))
                ts, values = ts[keep], values[keep]
            firing = old.firing
            covered = ts[-1] - ts[0] >= p.min_coverage * p.window_s
            if ts.size >= p.min_samples and ts.size >= 2 and covered:
                slope = slope_per_h(ts, values)
                limit = p.slope_per_h
                clear = limit if p.clear_slope_per_h is None else p.clear_slope_per_h
                breach = slope < limit if p.op == "<" else slope > limit
                recovered = slope >= clear if p.op == "<" else slope <= clear
                if (not firing and breach) or (firing and recovered):
                    firing = not firing
                    signals.append(self._signal(series.site, series.device, ts[-1], slope, firing))
            updates[series.key] = TrendState(tuple(ts.tolist()), tuple(values.tolist()), firing)
        return signals, state.with_updates(updates)

    def _signal(self, site: str, device: str, t: float, slope: float, firing: bool) -> Signal:
        p = self.params
        key = STEADY if not firing else FALLING if p.op == "<" else RISING
        return Signal(
            rule=self.id,
            subject=device,
            site=site,
            category=p.category,
            severity=p.severity,
            state=SignalState.FIRING if firing else SignalState.CLEAR,
            at=at_time(float(t)),
            value=slope,
            metric=p.metric,
            summary_key=key,
            summary_args={"metric": p.metric, "device": device, "slope_per_h": round(slope, 2)},
        )
