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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, Self
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
from pydantic import model_validator
from pydantic.dataclasses import dataclass as pydantic_dataclass

from i18n.languages import N_
from rules.arrays import BatchView, FloatArray, Series, at_time
from rules.catalog.hold import HoldState, run_hold
from rules.directory import Directory
from rules.kind import (
    NOTHING,
    PARAMS_CONFIG,
    CatalogRule,
    Evaluator,
    Inputs,
    Kind,
    Partitioned,
    TimeZone,
    names,
    param,
)
from rules.rule import (
    Category,
    InvalidParams,
    RuleState,
    Severity,
    Signal,
    SignalState,
    StoredState,
)

UNUSUAL = N_("{metric} on {device} is unusual: {value} where {median} is normal")
USUAL = N_("{metric} on {device} is back to normal ({value})")
IntArray = npt.NDArray[np.int64]
#: MAD → standard deviation for normally distributed data.
MAD_TO_SIGMA = 1.4826


@pydantic_dataclass(frozen=True, slots=True, config=PARAMS_CONFIG)
class AnomalyParams:
    metric: str = param(description="The metric watched, e.g. `current_a`.", min_length=1)
    k: float = param(
        6.0, gt=0, unit="robust σ", description="Robust z-score above which a sample is unusual."
    )
    clear_k: float = param(
        3.0,
        gt=0,
        unit="robust σ",
        description="Robust z-score (at most `k`) below which it clears.",
    )
    hold_s: float = param(
        0.0, ge=0, unit="s", description="How long samples must stay unusual before it fires."
    )
    buckets: Literal["hour_of_day", "none"] = param(
        "hour_of_day",
        description="`hour_of_day`: a baseline per local hour (a light at 03:00 is not a light "
        "at 19:00); `none`: one for the whole day.",
    )
    timezone: TimeZone | None = param(
        None,
        description="The IANA zone of the hours, e.g. `Asia/Shanghai`. Default: each site's own.",
    )
    warmup_samples: int = param(
        30,
        ge=3,
        le=1000,
        description="Samples a bucket collects (without firing) before its baseline is known.",
    )
    rate: float = param(
        0.05,
        gt=0,
        lt=1,
        description="Step of the streaming median and MAD per sample, as a share of the MAD: "
        "how fast a lasting change of level is absorbed.",
    )
    #: A floor for the MAD in the metric's unit, so a flat-lining series (MAD 0) is not
    #: "anomalous" at its first change of one least significant digit.
    min_mad: float = param(
        0.0,
        ge=0,
        unit="metric unit",
        description="A floor for the MAD, so that a flat series is not unusual at its first "
        "change of one least significant digit.",
    )
    severity: Severity = Severity.WARNING
    category: Category = Category.MAINTENANCE

    @model_validator(mode="after")
    def _band(self) -> Self:
        if self.clear_k > self.k:
            raise InvalidParams("anomaly", [("clear_k", f"must be in (0, k={self.k}]")])
        return self


@dataclass(frozen=True, slots=True)
class Bucket(StoredState):
    median: float | None = None
    mad: float = 0.0
    warm: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class AnomalyState(StoredState):
    hold: HoldState = HoldState()
    buckets: Mapping[int, Bucket] = field(default_factory=dict)


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


def learn_bulk(
    buckets: Sequence[Mapping[int, Bucket]],
    bucket_ids: Sequence[IntArray],
    values: Sequence[FloatArray],
    p: AnomalyParams,
) -> list[tuple[dict[int, Bucket], FloatArray, FloatArray]]:
    """`learn` over many series at once: per series, its buckets after `values` (in time order,
    sample i in bucket `bucket_ids[i]`), each sample's z-score (NaN while warming up) and the
    median it was scored against. Exactly `learn`'s arithmetic, sample by sample within a
    (series, bucket) lane, but every lane in step: one numpy operation per sample position
    instead of one Python call per sample."""
    sizes = [v.size for v in values]
    n = sum(sizes)
    out_z, out_m = np.full(n, np.nan), np.full(n, np.nan)
    series_of = np.repeat(np.arange(len(values)), sizes)
    ids = np.concatenate(bucket_ids) if n else np.zeros(0, dtype=np.int64)
    xs = np.concatenate(values) if n else np.zeros(0)
    order = np.argsort(series_of * 1024 + ids, kind="stable")  # lanes, each in time order
    lane_key = (series_of * 1024 + ids)[order]
    starts = np.flatnonzero(np.diff(lane_key, prepend=-1) != 0)
    lengths = np.diff(np.append(starts, n))
    new: list[dict[int, Bucket]] = [dict(b) for b in buckets]
    # Warm-up, lane by lane (only in a series' first samples of each bucket).
    skip = np.zeros(starts.size, dtype=np.int64)
    m0, d0 = np.zeros(starts.size), np.zeros(starts.size)
    for lane, (start, length) in enumerate(zip(starts.tolist(), lengths.tolist(), strict=True)):
        s, b = int(series_of[order[start]]), int(ids[order[start]])
        bucket = new[s].get(b, Bucket())
        if bucket.median is None:
            need = p.warmup_samples - len(bucket.warm)
            taken = xs[order[start : start + min(need, length)]].tolist()
            bucket, _ = learn(Bucket(warm=(*bucket.warm, *taken[:-1])), taken[-1], p)
            skip[lane] = min(need, length)
        new[s][b] = bucket
        if bucket.median is not None:
            m0[lane], d0[lane] = bucket.median, bucket.mad
    # The streaming updates, every lane in step.
    rest = lengths - skip
    width = int(rest.max()) if rest.size else 0
    if width:
        live = rest > 0
        lanes = np.flatnonzero(live)
        pos = np.arange(width)
        grid = np.full((lanes.size, width), -1, dtype=np.int64)
        inside = pos[None, :] < rest[lanes][:, None]
        at_pos = np.minimum((starts[lanes] + skip[lanes])[:, None] + pos[None, :], n - 1)
        grid[inside] = order[at_pos][inside]
        m, mad = m0[lanes], d0[lanes]
        floor = max(p.min_mad, 1e-12)
        for j in range(width):
            on = inside[:, j]
            at = grid[on, j]
            x = xs[at]
            mj, dj = m[on], mad[on]
            out_m[at] = mj
            out_z[at] = np.abs(x - mj) / (MAD_TO_SIGMA * np.maximum(dj, floor))
            step = p.rate * np.maximum(
                np.maximum(dj, p.min_mad), 1e-6 * np.maximum(1.0, np.abs(mj))
            )
            mj = mj + step * np.sign(x - mj)
            m[on] = mj
            mad[on] = np.maximum(0.0, dj + step * np.sign(np.abs(x - mj) - dj))
        for lane, mm, dd in zip(lanes.tolist(), m.tolist(), mad.tolist(), strict=True):
            start = int(starts[lane])
            s, b = int(series_of[order[start]]), int(ids[order[start]])
            new[s][b] = Bucket(mm, dd)
    bounds = np.cumsum([0, *sizes])
    return [
        (new[i], out_z[bounds[i] : bounds[i + 1]], out_m[bounds[i] : bounds[i + 1]])
        for i in range(len(values))
    ]


@dataclass(frozen=True, slots=True)
class AnomalyRule(CatalogRule[AnomalyParams, AnomalyState]):
    State = AnomalyState

    def _bucket_of(self, t: float) -> int:
        if self.params.buckets == "none":
            return 0
        return datetime.fromtimestamp(t, ZoneInfo(self.params.timezone or "UTC")).hour

    def _buckets_of(self, ts: FloatArray) -> IntArray:
        """`_bucket_of` of every sample; in bulk while the zone's UTC offset holds still."""
        if self.params.buckets == "none" or not ts.size:
            return np.zeros(ts.size, dtype=np.int64)
        zone = ZoneInfo(self.params.timezone or "UTC")
        first = datetime.fromtimestamp(float(ts[0]), zone).utcoffset()
        last = datetime.fromtimestamp(float(ts[-1]), zone).utcoffset()
        if first is None or first != last:  # a DST change inside the batch: one at a time
            return np.array([self._bucket_of(t) for t in ts.tolist()], dtype=np.int64)
        # As datetime.fromtimestamp does: whole seconds, microseconds rounded half to even.
        seconds = np.floor(ts)
        seconds += np.round((ts - seconds) * 1e6) >= 1e6
        local = seconds + first.total_seconds()
        return (np.mod(local, 86_400.0) // 3600.0).astype(np.int64)

    def evaluate(
        self, view: BatchView, state: RuleState[AnomalyState], now: datetime
    ) -> tuple[list[Signal], RuleState[AnomalyState]]:
        p = self.params
        signals: list[Signal] = []
        updates: dict[str, AnomalyState] = {}
        work: list[tuple[Series, AnomalyState, Series]] = []
        for series in view.of_metric(p.metric):
            old = state.get(series.key) or AnomalyState()
            fresh = series.after(old.hold.last_ts)
            if len(fresh):
                work.append((series, old, fresh))
        learnt = learn_bulk(
            [old.buckets for _, old, _ in work],
            [self._buckets_of(fresh.ts) for _, _, fresh in work],
            [fresh.values for _, _, fresh in work],
            p,
        )
        for (series, old, fresh), (buckets, z, medians) in zip(work, learnt, strict=True):
            # Warming up (z is NaN): neither, so whatever state the hold is in stays.
            breach, recovered = z > p.k, z <= p.clear_k
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


def _build(rule_id: str, params: AnomalyParams, directory: Directory) -> Evaluator:
    """Hour-of-day buckets are local hours: without an explicit `timezone`, one rule per site
    time zone, each series learning in its own site's zone."""
    if params.timezone is not None:
        return AnomalyRule(rule_id, params)
    return Partitioned(
        route=lambda site, device: directory.timezone_of(site),
        make=lambda zone: AnomalyRule(rule_id, replace(params, timezone=zone)),
        load=lambda raw: RuleState.from_json(AnomalyState, raw),
        keys=sorted({directory.timezone_of(s) for s in directory.site_timezones}),
    )


KIND = Kind("anomaly", AnomalyParams, _build, lambda p: Inputs(names(p.metric), NOTHING))
