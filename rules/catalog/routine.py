"""A household's learned routine: how quickly a silence ends, by local hour and kind of day.

The model is a piecewise-constant hazard: `rate[b]` is how many silences end per hour of
silence in bucket `b` (local hour of day × weekday/weekend). It is estimated the way survival
analysis estimates an exponential hazard, events over exposure: each finished silence adds its
length (split over the local hours it covered) to `exposure_h` and one event to the bucket where
it ended. Only silences longer than a grace period are counted, and only past it: the minutes
between two motions in a busy kitchen say nothing about how long a nap lasts.

The chance that a silence which began at `s` is still going at `t` is then exp(-Λ), with Λ the
integral of the rate over the silence: a silence through the night accumulates little (nights
are quiet), the same silence through a morning when this resident is always up accumulates fast.

Counts decay exponentially (recent weeks matter, last season does not) and are shrunk towards a
prior in two steps: each hour-of-day pools weekdays and weekends and leans on the prior's rate
with `prior_weight_h` hours of pseudo-exposure; each weekday/weekend bucket leans on its pooled
hour the same way. A new household therefore starts from the prior and moves to its own habits
as its silences are seen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from rules.arrays import FloatArray
from rules.rule import StoredState

IntArray = npt.NDArray[np.int64]
HOURS = 24
#: hour of day (0-23) on weekdays, then 24-47 on Saturdays and Sundays.
BUCKETS = 2 * HOURS
#: 1970-01-01 was a Thursday (Monday = 0).
_EPOCH_WEEKDAY = 3


def _offset_s(t: float, zone: ZoneInfo) -> float:
    offset = datetime.fromtimestamp(t, UTC).astimezone(zone).utcoffset()
    return 0.0 if offset is None else offset.total_seconds()


def _transition(a: float, b: float, zone: ZoneInfo) -> float:
    """The first instant in (a, b] whose UTC offset differs from a's (a and b's differ)."""
    base = _offset_s(a, zone)
    lo, hi = a, b
    while hi - lo > 1.0:
        mid = math.floor((lo + hi) / 2)
        if _offset_s(mid, zone) == base:
            lo = mid
        else:
            hi = mid
    return hi


@dataclass(frozen=True, slots=True)
class Pieces:
    """[a, b) cut at local hour boundaries: each piece's start, end and bucket."""

    start: FloatArray
    end: FloatArray
    bucket: IntArray

    @property
    def hours(self) -> FloatArray:
        return (self.end - self.start) / 3600.0


def pieces(a: float, b: float, zone: ZoneInfo) -> Pieces:
    """Cut [a, b) at every local hour boundary, with each piece's bucket in `zone`.

    A daylight-saving change is a cut too: the night the clocks go forward has no local 02:00
    piece, the night they go back has two, each as long as it really was.
    """
    if b <= a:
        empty = np.empty(0)
        return Pieces(empty, empty, np.empty(0, dtype=np.int64))
    cuts = [a]
    while _offset_s(cuts[-1], zone) != _offset_s(b, zone):
        cuts.append(_transition(cuts[-1], b, zone))
    cuts.append(b)
    parts = [
        _steady_pieces(lo, hi, _offset_s(lo, zone)) for lo, hi in zip(cuts, cuts[1:], strict=False)
    ]
    return Pieces(
        np.concatenate([p.start for p in parts]),
        np.concatenate([p.end for p in parts]),
        np.concatenate([p.bucket for p in parts]),
    )


def _steady_pieces(a: float, b: float, offset: float) -> Pieces:
    first = math.floor((a + offset) / 3600.0) * 3600.0 - offset
    inner = np.arange(first + 3600.0, b, 3600.0)
    inner = inner[inner > a]
    points = np.concatenate(([a], inner, [b]))
    start, end = points[:-1], points[1:]
    return Pieces(start, end, bucket_of(start, offset))


def bucket_of(t: FloatArray, offset: float) -> IntArray:
    local = np.floor((t + offset) / 3600.0).astype(np.int64)
    hour = local % HOURS
    weekday = (local // HOURS + _EPOCH_WEEKDAY) % 7
    return hour + HOURS * (weekday >= 5)


def bucket_at(t: float, zone: ZoneInfo) -> int:
    return int(bucket_of(np.array([t]), _offset_s(t, zone))[0])


def prior_rates(
    day_per_h: float, night_per_h: float, day_start_h: int, day_end_h: int
) -> FloatArray:
    """Per-bucket rates: `day_per_h` in local hours [day_start_h, day_end_h), else night."""
    hours = np.arange(HOURS)
    if day_start_h <= day_end_h:
        day = (hours >= day_start_h) & (hours < day_end_h)
    else:
        day = (hours >= day_start_h) | (hours < day_end_h)
    return np.tile(np.where(day, day_per_h, night_per_h), 2).astype(np.float64)


@dataclass(frozen=True, slots=True)
class Routine(StoredState):
    """Decayed events and exposure hours per bucket (empty tuples: nothing learned yet)."""

    events: tuple[float, ...] = ()
    exposure_h: tuple[float, ...] = ()
    decayed_at: float | None = None

    def __post_init__(self) -> None:
        for name in ("events", "exposure_h"):
            if len(getattr(self, name)) not in (0, BUCKETS):
                raise ValueError(f"{name}: expected {BUCKETS} numbers")

    def arrays(self) -> tuple[FloatArray, FloatArray]:
        if not self.events:
            return np.zeros(BUCKETS), np.zeros(BUCKETS)
        return np.asarray(self.events, dtype=np.float64), np.asarray(self.exposure_h, np.float64)

    def rates(self, prior: FloatArray, prior_weight_h: float) -> FloatArray:
        """Events per hour of silence, per bucket, shrunk towards the hour, then the prior."""
        events, exposure = self.arrays()
        pooled_events = events[:HOURS] + events[HOURS:]
        pooled_exposure = exposure[:HOURS] + exposure[HOURS:]
        prior_hour = (prior[:HOURS] + prior[HOURS:]) / 2.0
        hour = (pooled_events + prior_weight_h * prior_hour) / (pooled_exposure + prior_weight_h)
        hour = np.tile(hour, 2)
        return (events + prior_weight_h * hour) / (exposure + prior_weight_h)

    def learn(
        self, start: float, end: float, ended: bool, zone: ZoneInfo, memory_s: float
    ) -> Routine:
        """Add the silence [start, end) (already past its grace period); `ended` when activity
        ended it (a silence cut short by an alert is censored: exposure without an event)."""
        events, exposure = self.arrays()
        if self.decayed_at is not None and end > self.decayed_at:
            keep = math.exp(-(end - self.decayed_at) / memory_s)
            events, exposure = events * keep, exposure * keep
        if end > start:
            p = pieces(start, end, zone)
            np.add.at(exposure, p.bucket, p.hours)
        if ended:
            events[bucket_at(end, zone)] += 1.0
        decayed_at = end if self.decayed_at is None else max(self.decayed_at, end)
        return Routine(tuple(events.tolist()), tuple(exposure.tolist()), decayed_at)


def first_crossing(
    start: float,
    rates: FloatArray,
    grace_s: float,
    target: float,
    day: FloatArray,
    day_limit_s: float,
    horizon_s: float,
    zone: ZoneInfo,
) -> float | None:
    """The first instant after `start` at which a silence becomes alarming, within `horizon_s`:
    the integrated rate past the grace period reaches `target`, or the silence has covered
    `day_limit_s` of daytime (`day[b]` is 1 for daytime buckets). None if neither happens."""
    p = pieces(start, start + horizon_s, zone)
    if not p.start.size:
        return None
    counted_from = np.maximum(p.start, start + grace_s)
    weight = np.clip(p.end - counted_from, 0.0, None) / 3600.0 * rates[p.bucket]
    found: list[float] = []
    cum = np.cumsum(weight)
    i = int(np.searchsorted(cum, target))
    if i < cum.size:
        before = cum[i] - weight[i]
        found.append(
            float(counted_from[i] + (target - before) / weight[i] * (p.end[i] - counted_from[i]))
        )
    daytime = (p.end - p.start) * day[p.bucket]
    cum_day = np.cumsum(daytime)
    j = int(np.searchsorted(cum_day, day_limit_s))
    if j < cum_day.size:
        found.append(float(p.start[j] + day_limit_s - (cum_day[j] - daytime[j])))
    return min(found, default=None)
