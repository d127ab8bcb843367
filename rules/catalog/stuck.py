"""Stuck value: a series that stops changing for longer than `hold_s`, though it normally varies.

A frozen sensor repeats its last value exactly (or, with `epsilon`, within a band): a *flat run*
is a stretch of samples whose consecutive changes are all within `epsilon` and whose overall
range stays within it too, so a slow drift is not a run. The run's length is measured from its
first sample to its latest (a gap in the samples neither ends nor lengthens it).

Plenty of series sit still by nature: a switch, a battery level, a counter at night, a lamp's
power by day. The rule learns which: it keeps, decayed over `memory_days`, how much of the
series' observed time was spent in flat runs of `hold_s` or more, and how often it changed. A
run fires once it reaches `hold_s` only if that share (of the runs before it) is at most
`max_flat_share`, the series changed at least `min_changes_per_h` on average, and
`min_history_s` has passed since it was first seen, so a whole daily cycle is known. A noisy tank
level spends no time in long flat runs and fires after `hold_s`; a lamp that is flat all day, or
a passage counter that sits at 0 every night, never does. Each interval between two samples
counts at most `hold_s` of observed time, so an outage does not pass for varying.

The signal fires at the sample where the run reaches `hold_s`, and clears at the first sample
that leaves it. A run that fired is not learned as normal flatness.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import numpy as np
from pydantic import Field
from pydantic.dataclasses import dataclass as pydantic_dataclass

from i18n.languages import N_
from rules.arrays import BatchView, FloatArray, Series, at_time
from rules.kind import NOTHING, PARAMS_CONFIG, CatalogRule, Inputs, Kind, alone, param
from rules.rule import (
    Category,
    RuleState,
    Severity,
    Signal,
    SignalState,
    StoredState,
)

STUCK = N_("{metric} on {device} has not changed for {minutes} min (stuck at {value})")
MOVING = N_("{metric} on {device} is changing again ({value})")


@pydantic_dataclass(frozen=True, slots=True, config=PARAMS_CONFIG)
class StuckParams:
    metrics: tuple[Annotated[str, Field(min_length=1)], ...] = param(
        (), description="The metrics watched; empty: every metric of the rule's scope."
    )
    hold_s: float = param(
        3600.0, gt=0, unit="s", description="How long a series must sit still to be stuck."
    )
    #: Samples a run needs before it counts as flat: two readings hours apart that happen to
    #: be equal (an event-driven sensor) say little.
    min_samples: int = param(
        5,
        ge=2,
        description="Samples a flat run needs to count: two equal readings hours apart (an "
        "event-driven sensor) say little.",
    )
    epsilon: float = param(
        0.0,
        ge=0,
        unit="metric unit",
        description="Changes within this are no change (a flat run's whole range stays within "
        "it too).",
    )
    #: A series that spent more of its time than this in flat runs of hold_s sits still by
    #: nature (a lamp by day, a counter at night).
    max_flat_share: float = param(
        0.02,
        gt=0,
        lt=1,
        description="A series that spent more of its time than this in flat runs of `hold_s` "
        "sits still by nature (a lamp by day, a counter at night) and is never stuck.",
    )
    #: A series that changes less often than this (a battery, a smoke flag) never varied.
    min_changes_per_h: float = param(
        1.0,
        ge=0,
        unit="1/h",
        description="A series that changes less often than this on average (a battery, a smoke "
        "flag) never varied and is never stuck.",
    )
    #: A day: the daily cycle (a lamp off all day, a counter at night) must have been seen.
    min_history_s: float = param(
        86_400.0,
        ge=0,
        unit="s",
        description="How long a series must have been seen before it can be stuck: its daily "
        "cycle must be known.",
    )
    memory_days: float = param(
        7.0, gt=0, unit="days", description="Time constant of forgetting what was learned."
    )
    severity: Severity = Severity.WARNING
    category: Category = Category.MAINTENANCE


@dataclass(frozen=True, slots=True)
class StuckState(StoredState):
    first_ts: float | None = None
    last_ts: float | None = None
    last_value: float | None = None
    #: The current flat run: its first sample's time and its value range so far.
    run_start: float | None = None
    run_low: float | None = None
    run_high: float | None = None
    run_samples: float = 0.0
    firing: bool = False
    #: Decayed seconds observed, and of those, in flat runs of `hold_s` or more.
    seen_s: float = 0.0
    flat_s: float = 0.0
    #: Decayed count of value changes beyond epsilon.
    changes: float = 0.0
    decayed_at: float | None = None


@dataclass(frozen=True, slots=True)
class _History:
    """What a batch's samples know of the series' past, at each sample."""

    seen_s: FloatArray
    changes: FloatArray
    first_ts: float


@dataclass(frozen=True, slots=True)
class StuckRule(CatalogRule[StuckParams, StuckState]):
    State = StuckState

    def evaluate(
        self, view: BatchView, state: RuleState[StuckState], now: datetime
    ) -> tuple[list[Signal], RuleState[StuckState]]:
        p = self.params
        signals: list[Signal] = []
        updates: dict[str, StuckState] = {}
        for (_, _, metric), series in sorted(view.series.items()):
            if (p.metrics and metric not in p.metrics) or not len(series):
                continue
            old = state.get(series.key) or StuckState()
            fresh = series.after(old.last_ts)
            if not len(fresh):
                continue
            new, changes = self._step(old, fresh)
            updates[series.key] = new
            signals += [self._signal(fresh, *change) for change in changes]
        return signals, state.with_updates(updates)

    def _step(
        self, old: StuckState, fresh: Series
    ) -> tuple[StuckState, list[tuple[int, SignalState, float]]]:
        """Segments the fresh samples into runs (vectorised); only the runs that reach
        `hold_s` are stepped through one by one, in time order."""
        p = self.params
        t, v = fresh.ts, fresh.values
        keep = 1.0
        if old.decayed_at is not None:
            keep = math.exp(-max(0.0, float(t[-1]) - old.decayed_at) / (p.memory_days * 86_400.0))
        last = np.nan if old.last_value is None else old.last_value
        breaks = ~(np.abs(v - np.concatenate(([last], v[:-1]))) <= p.epsilon)
        before = float(t[0]) if old.last_ts is None else old.last_ts
        history = _History(
            seen_s=old.seen_s * keep
            + np.cumsum(np.minimum(np.diff(np.concatenate(([before], t))), p.hold_s)),
            changes=old.changes * keep
            + np.cumsum(breaks, dtype=np.float64)
            - (old.last_value is None),
            first_ts=float(t[0]) if old.first_ts is None else old.first_ts,
        )
        carried = not breaks[0] and old.run_start is not None
        a = np.flatnonzero(breaks)
        if carried:
            a = np.concatenate(([0], a))
        b = np.concatenate((a[1:], [v.size]))
        start = t[a].copy()
        lows, highs = np.minimum.reduceat(v, a), np.maximum.reduceat(v, a)
        if carried:
            start[0] = old.run_start
            lows[0] = min(float(lows[0]), old.run_low if old.run_low is not None else math.inf)
            highs[0] = max(float(highs[0]), old.run_high if old.run_high is not None else -math.inf)
        count = (b - a).astype(np.float64)
        if carried:
            count[0] += old.run_samples
        length = np.where(count >= p.min_samples, t[b - 1] - start, 0.0)
        # What each run adds to the flat time once it has ended (the last one has not).
        contrib = np.where((length >= p.hold_s) & (highs - lows <= p.epsilon), length, 0.0)
        contrib[-1] = 0.0
        fired = np.zeros(a.size, dtype=bool)
        fired[0] = carried and old.firing
        flat = old.flat_s * keep
        if not carried and not old.firing:
            flat += self._ended_run(old)
        changes: list[tuple[int, SignalState, float]] = []
        if old.firing and not carried:
            changes.append((0, SignalState.CLEAR, 0.0))
        for r in np.flatnonzero((length >= p.hold_s) & ~fired).tolist():
            carried_range = (old.run_low, old.run_high) if r == 0 and carried else (None, None)
            samples = old.run_samples if r == 0 and carried else 0.0
            flat_before = flat + float(contrib[:r][~fired[:r]].sum())
            i = self._reaches_hold(
                t, v, history, int(a[r]), int(b[r]), float(start[r]), carried_range, flat_before,
                samples,
            )  # fmt: skip
            if i is not None:
                fired[r] = True
                changes.append((i, SignalState.FIRING, float(t[i] - start[r])))
        for r in np.flatnonzero(fired[:-1]).tolist():
            changes.append((int(a[r + 1]), SignalState.CLEAR, 0.0))
        changes.sort(key=lambda c: c[0])
        end = float(t[-1])
        new = StuckState(
            first_ts=history.first_ts,
            last_ts=end,
            last_value=float(v[-1]),
            run_start=float(start[-1]),
            run_low=float(lows[-1]),
            run_high=float(highs[-1]),
            run_samples=float(count[-1]),
            firing=bool(fired[-1]),
            seen_s=float(history.seen_s[-1]),
            flat_s=flat + float(contrib[~fired].sum()),
            changes=float(history.changes[-1]),
            decayed_at=end,
        )
        return new, changes

    def _reaches_hold(
        self,
        t: FloatArray,
        v: FloatArray,
        history: _History,
        a: int,
        b: int,
        start: float,
        carried: tuple[float | None, float | None],
        flat_before: float,
        samples_before: float,
    ) -> int | None:
        """The first of the samples a..b-1 (a run that began at `start`, with the value range
        `carried` before them) at which the run has been flat for `hold_s` in a series that
        normally varies; None if there is none."""
        p = self.params
        low = math.inf if carried[0] is None else carried[0]
        high = -math.inf if carried[1] is None else carried[1]
        span = np.maximum.accumulate(np.maximum(v[a:b], high)) - np.minimum.accumulate(
            np.minimum(v[a:b], low)
        )
        seen = np.maximum(history.seen_s[a:b], 1e-9)
        ok = (t[a:b] - start >= p.hold_s) & (span <= p.epsilon)
        ok &= samples_before + np.arange(1, b - a + 1) >= p.min_samples
        ok &= flat_before / seen <= p.max_flat_share
        ok &= history.changes[a:b] / seen * 3600.0 >= p.min_changes_per_h
        ok &= t[a:b] - history.first_ts >= p.min_history_s
        hits = np.flatnonzero(ok)
        return a + int(hits[0]) if hits.size else None

    def _ended_run(self, old: StuckState) -> float:
        """The flat time a run carried in the state adds when it ends."""
        p = self.params
        if old.run_start is None or old.last_ts is None or old.run_samples < p.min_samples:
            return 0.0
        length = old.last_ts - old.run_start
        span = (old.run_high or 0.0) - (old.run_low or 0.0)
        return length if length >= p.hold_s and span <= p.epsilon else 0.0

    def _signal(self, fresh: Series, i: int, kind: SignalState, length_s: float) -> Signal:
        p = self.params
        value = float(fresh.values[i])
        firing = kind is SignalState.FIRING
        return Signal(
            rule=self.id,
            subject=fresh.device,
            site=fresh.site,
            category=p.category,
            severity=p.severity,
            state=kind,
            at=at_time(float(fresh.ts[i])),
            value=value,
            metric=fresh.metric,
            summary_key=STUCK if firing else MOVING,
            summary_args={
                "metric": fresh.metric,
                "device": fresh.device,
                "value": round(value, 3),
                "minutes": round(length_s / 60.0, 1),
            },
        )


KIND = Kind(
    "stuck",
    StuckParams,
    alone(StuckRule),
    lambda p: Inputs(frozenset(p.metrics) or None, NOTHING),
    timed=True,
)
