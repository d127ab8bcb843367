"""Slope rules (tank draining, pressure decay) with a least-squares fit over a window.

The slope is fitted over the samples within `window_s` up to a sample (the series' history is
kept in the state, bounded by `max_samples`), in units per hour, and judged at every new sample:
a batch that spans hours (a replay, a backtest chunk) raises at the sample where the window
first showed the trend, not at the batch's end. All windows of a batch are fitted at once from
running sums; a decision near the limit is confirmed with the exact fit of its window. Nothing
is decided (neither fire nor clear) unless the window holds `min_samples` and the samples span
at least `min_coverage` of it, so a sensor that just came back from a gap cannot fit a line
through two points.

`op="<"` fires on a slope below `slope_per_h` (a tank falling faster than 5 %/h is
`slope_per_h=-5`), and clears when it is back at or above `clear_slope_per_h` (default: the
same limit). One series per rule: correlating with a pump's state is the engine's scope's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Self

import numpy as np
import numpy.typing as npt
from pydantic import model_validator
from pydantic.dataclasses import dataclass as pydantic_dataclass

from i18n.languages import N_
from rules.arrays import BatchView, FloatArray, at_time
from rules.kind import NOTHING, PARAMS_CONFIG, CatalogRule, Inputs, Kind, alone, names, param
from rules.rule import (
    Category,
    InvalidParams,
    RuleState,
    Severity,
    Signal,
    SignalState,
    StoredState,
)

FALLING = N_("{metric} on {device} is falling at {slope_per_h} per hour")
RISING = N_("{metric} on {device} is rising at {slope_per_h} per hour")
STEADY = N_("{metric} on {device} is steady again ({slope_per_h} per hour)")


@pydantic_dataclass(frozen=True, slots=True, config=PARAMS_CONFIG)
class TrendParams:
    metric: str = param(description="The metric watched, e.g. `level_pct`.", min_length=1)
    op: Literal["<", ">"] = param(
        description="`<` fires on a slope below `slope_per_h` (falling), `>` above it (rising)."
    )
    slope_per_h: float = param(
        unit="metric unit/h", description="The limit: a tank falling faster than 5 %/h is -5."
    )
    window_s: float = param(unit="s", gt=0, description="The span the slope is fitted over.")
    clear_slope_per_h: float | None = param(
        None,
        unit="metric unit/h",
        description="Where the alert clears (on the normal side of `slope_per_h`). "
        "Default: `slope_per_h`.",
    )
    min_samples: int = param(
        3, ge=2, description="Samples the window needs before anything is decided."
    )
    min_coverage: float = param(
        0.5,
        ge=0,
        le=1,
        description="Share of the window the samples must span before anything is decided.",
    )
    #: A state bound: denser series are thinned evenly, which keeps the fit's span.
    max_samples: int = param(
        256,
        description="Samples kept per series (at least `min_samples`); denser series are "
        "thinned evenly.",
    )
    severity: Severity = Severity.WARNING
    category: Category = Category.MAINTENANCE

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        errors = []
        clear = self.clear_slope_per_h
        if clear is not None and (
            clear < self.slope_per_h if self.op == "<" else clear > self.slope_per_h
        ):
            errors.append(("clear_slope_per_h", "must be on the normal side of slope_per_h"))
        if self.max_samples < self.min_samples:
            errors.append(("max_samples", "must be >= min_samples"))
        if errors:
            raise InvalidParams("trend", errors)
        return self


@dataclass(frozen=True, slots=True)
class TrendState(StoredState):
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


#: Slopes from running sums may differ from the exact fit in their last digits (units/h).
_MARGIN = 1e-4
#: Windows fitted per set of running sums: short runs keep the sums' rounding small however
#: long the batch.
_BLOCK = 256


def _window_slopes(
    ts: FloatArray, values: FloatArray, starts: npt.NDArray[np.intp], ends: npt.NDArray[np.intp]
) -> tuple[FloatArray, npt.NDArray[np.intp]]:
    """Least-squares slopes (units per hour) of the windows [starts[k], ends[k]] (both
    ascending), and their sample counts, from running sums over a block of windows at a time.
    Times and values are taken relative to the block's first sample, for precision; a window
    holding a NaN has a NaN slope, as its exact fit would."""
    slopes = np.empty(ends.size, dtype=np.float64)
    for b in range(0, ends.size, _BLOCK):
        first, last = int(starts[b]), int(ends[min(b + _BLOCK, ends.size) - 1]) + 1
        t = ts[first:last] - ts[first]
        v = values[first:last]
        missing = ~np.isfinite(v)
        finite = v[~missing]
        v = np.where(missing, 0.0, v - (finite[0] if finite.size else 0.0))
        sums = (t, v, t * t, t * v, missing.astype(np.float64))
        st, sv, stt, stv, sm = (np.concatenate(([0.0], np.cumsum(a))) for a in sums)
        hi = ends[b : b + _BLOCK] + 1 - first
        lo = starts[b : b + _BLOCK] - first
        n = (hi - lo).astype(np.float64)
        sum_t, sum_v = st[hi] - st[lo], sv[hi] - sv[lo]
        denominator = n * (stt[hi] - stt[lo]) - sum_t * sum_t
        numerator = n * (stv[hi] - stv[lo]) - sum_t * sum_v
        with np.errstate(divide="ignore", invalid="ignore"):
            fitted = (denominator > 0) & (sm[hi] - sm[lo] == 0)
            slopes[b : b + _BLOCK] = np.where(fitted, numerator / denominator * 3600.0, np.nan)
    return slopes, ends + 1 - starts


@dataclass(frozen=True, slots=True)
class TrendRule(CatalogRule[TrendParams, TrendState]):
    State = TrendState

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
            firing = old.firing
            for i, slope, now_firing in self._changes(ts, values, len(old.ts), firing):
                signals.append(self._signal(series.site, series.device, ts[i], slope, now_firing))
                firing = now_firing
            inside = ts > ts[-1] - p.window_s
            ts, values = ts[inside], values[inside]
            if ts.size > p.max_samples:
                keep = np.unique(np.linspace(0, ts.size - 1, p.max_samples).round().astype(int))
                ts, values = ts[keep], values[keep]
            updates[series.key] = TrendState(tuple(ts.tolist()), tuple(values.tolist()), firing)
        return signals, state.with_updates(updates)

    def _changes(
        self, ts: FloatArray, values: FloatArray, first: int, firing: bool
    ) -> list[tuple[int, float, bool]]:
        """(sample index, slope, firing after) of each change, judging the window that ends at
        each sample from `first` on (ts sorted)."""
        p = self.params
        ends = np.arange(first, ts.size)
        starts = np.searchsorted(ts, ts[ends] - p.window_s, side="right")
        slopes, count = _window_slopes(ts, values, starts, ends)
        eligible = (
            (count >= max(p.min_samples, 2))
            & (ts[ends] - ts[starts] >= p.min_coverage * p.window_s)
            & np.isfinite(slopes)
        )
        limit = p.slope_per_h
        clear = limit if p.clear_slope_per_h is None else p.clear_slope_per_h
        sign = 1.0 if p.op == "<" else -1.0  # "<": fire below the limit, clear at or above
        changes: list[tuple[int, float, bool]] = []
        at = 0
        while at < ends.size:
            # Candidates by the running sums, with a margin for their rounding; each is
            # confirmed by the exact fit of its window.
            if firing:
                near = eligible & (sign * slopes >= sign * clear - _MARGIN)
            else:
                near = eligible & (sign * slopes < sign * limit + _MARGIN)
            found = None
            for k in (np.flatnonzero(near[at:]) + at).tolist():
                window = slice(int(starts[k]), int(ends[k]) + 1)
                exact = slope_per_h(ts[window], values[window])
                if (sign * exact >= sign * clear) if firing else (sign * exact < sign * limit):
                    found = (k, exact)
                    break
            if found is None:
                break
            k, exact = found
            firing = not firing
            changes.append((int(ends[k]), exact, firing))
            at = k + 1
        return changes

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


KIND = Kind("trend", TrendParams, alone(TrendRule), lambda p: Inputs(names(p.metric), NOTHING))
