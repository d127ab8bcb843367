"""Anomaly against a learned baseline: robust per-series statistics, no labels needed.

Each series learns its own normal: a median and a MAD (median absolute deviation), per
hour-of-day in the site's zone (`buckets="hour_of_day"`: a corridor light's current at 03:00 is
not its current at 19:00) or one for the whole day. A sample is anomalous when its robust
z-score, |x - median| / (1.4826 · MAD), exceeds `k`, held for `hold_s`; it clears at `clear_k`.
No labels are needed because "normal" is defined as what the series itself does most of the
time: the median and MAD ignore up to half the data being odd, so the faults being looked for
do not teach the baseline much.

The statistics fit in the state: each bucket first collects `warmup_samples` values and takes
their exact median and MAD (no firing meanwhile), then tracks both with a streaming sign update
(each sample moves the median a small step `rate · scale` towards itself, and the MAD towards
|x - median|), whose step does not grow with an outlier's size. A lasting change of level (a new
pump) is absorbed over roughly (shift / step) samples, so it raises one alert, not one forever.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from rules.arrays import BatchView, at_time
from rules.catalog.hold import HoldState, run_hold
from rules.rule import (
    Category,
    FlatState,
    JsonObject,
    JsonValue,
    ParamCheck,
    RuleState,
    Severity,
    Signal,
    SignalState,
)

UNUSUAL = "{metric} on {device} is unusual: {value} where {median} is normal"
USUAL = "{metric} on {device} is back to normal ({value})"
#: MAD → standard deviation for normally distributed data.
MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True, slots=True)
class AnomalyParams:
    metric: str
    k: float = 6.0
    clear_k: float = 3.0
    hold_s: float = 0.0
    buckets: Literal["hour_of_day", "none"] = "hour_of_day"
    timezone: str = "UTC"
    warmup_samples: int = 30
    rate: float = 0.05
    #: A floor for the MAD in the metric's unit, so a flat-lining series (MAD 0) is not
    #: "anomalous" at its first change of one least significant digit.
    min_mad: float = 0.0
    severity: Severity = Severity.WARNING
    category: Category = Category.MAINTENANCE

    def __post_init__(self) -> None:
        check = ParamCheck("anomaly")
        check.require(bool(self.metric), "metric", "must not be empty")
        check.positive(self.k, "k")
        check.require(0 < self.clear_k <= self.k, "clear_k", f"must be in (0, k={self.k}]")
        check.non_negative(self.hold_s, "hold_s")
        check.one_of(self.buckets, ("hour_of_day", "none"), "buckets")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            check.require(False, "timezone", f"unknown IANA time zone {self.timezone!r}")
        check.require(3 <= self.warmup_samples <= 1000, "warmup_samples", "must be in [3, 1000]")
        check.require(0 < self.rate < 1, "rate", "must be in (0, 1)")
        check.non_negative(self.min_mad, "min_mad")
        check.done()


@dataclass(frozen=True, slots=True)
class Bucket(FlatState):
    median: float | None = None
    mad: float = 0.0
    warm: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class AnomalyState:
    hold: HoldState = HoldState()
    buckets: Mapping[int, Bucket] = field(default_factory=dict)

    def to_json(self) -> JsonObject:
        buckets: dict[str, JsonValue] = {str(i): b.to_json() for i, b in self.buckets.items()}
        return {"hold": self.hold.to_json(), "buckets": buckets}

    @classmethod
    def from_json(cls, raw: Mapping[str, object]) -> Self:
        hold, buckets = raw.get("hold"), raw.get("buckets")
        if not isinstance(hold, Mapping) or not isinstance(buckets, Mapping):
            raise TypeError("hold, buckets: expected objects")
        parsed: dict[int, Bucket] = {}
        for i, b in buckets.items():
            if not isinstance(b, Mapping):
                raise TypeError(f"buckets.{i}: expected an object")
            parsed[int(i)] = Bucket.from_json(b)
        return cls(HoldState.from_json(hold), parsed)


def learn(bucket: Bucket, x: float, p: AnomalyParams) -> tuple[Bucket, float | None]:
    """The bucket after seeing `x`, and x's robust z-score against the bucket before it
    (None while warming up)."""
    if bucket.median is None:
        warm = (*bucket.warm, x)
        if len(warm) < p.warmup_samples:
            return Bucket(warm=warm), None
        values = np.asarray(warm)
        median = float(np.median(values))
        return Bucket(median, float(np.median(np.abs(values - median)))), None
    m, mad = bucket.median, bucket.mad
    scale = max(mad, p.min_mad, 1e-6 * max(1.0, abs(m)))
    z = abs(x - m) / (MAD_TO_SIGMA * max(mad, p.min_mad, 1e-12))
    step = p.rate * scale
    m += step * float(np.sign(x - m))
    mad = max(0.0, mad + step * float(np.sign(abs(x - m) - mad)))
    return Bucket(m, mad), z


@dataclass(frozen=True, slots=True)
class AnomalyRule:
    id: str
    params: AnomalyParams

    def load_state(self, raw: Mapping[str, object]) -> RuleState[AnomalyState]:
        return RuleState.from_json(AnomalyState, raw)

    def _bucket_of(self, t: float) -> int:
        if self.params.buckets == "none":
            return 0
        return datetime.fromtimestamp(t, ZoneInfo(self.params.timezone)).hour

    def evaluate(
        self, view: BatchView, state: RuleState[AnomalyState], now: datetime
    ) -> tuple[list[Signal], RuleState[AnomalyState]]:
        p = self.params
        signals: list[Signal] = []
        updates: dict[str, AnomalyState] = {}
        for series in view.of_metric(p.metric):
            old = state.get(series.key) or AnomalyState()
            fresh = series.after(old.hold.last_ts)
            if not len(fresh):
                continue
            buckets = dict(old.buckets)
            n = len(fresh)
            breach, recovered = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
            medians = np.full(n, np.nan)
            for i, (t, x) in enumerate(zip(fresh.ts.tolist(), fresh.values.tolist(), strict=True)):
                b = self._bucket_of(t)
                before = buckets.get(b, Bucket())
                buckets[b], z = learn(before, x, p)
                if z is not None:  # warming up: neither, so whatever state holds stays
                    breach[i], recovered[i] = z > p.k, z <= p.clear_k
                    medians[i] = before.median
            hold, transitions = run_hold(old.hold, fresh.ts, breach, recovered, p.hold_s)
            updates[series.key] = replace(old, hold=hold, buckets=buckets)
            for i, kind in transitions:
                value = float(fresh.values[i])
                signals.append(
                    Signal(
                        rule=self.id,
                        subject=series.device,
                        site=series.site,
                        category=p.category,
                        severity=p.severity,
                        state=kind,
                        at=at_time(float(fresh.ts[i])),
                        value=value,
                        metric=series.metric,
                        summary_key=UNUSUAL if kind is SignalState.FIRING else USUAL,
                        summary_args={
                            "metric": series.metric,
                            "device": series.device,
                            "value": round(value, 3),
                            "median": round(float(medians[i]), 3),
                        },
                    )
                )
        return signals, state.with_updates(updates)
