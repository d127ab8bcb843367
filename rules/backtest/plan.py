"""What a backtest must read raw, decided from the hourly rollup (count, min, max, avg per series
and UTC hour). Pure numpy over a [series, hour] grid; rules.backtest.sources does the reading.

An hour is *summarised* when it has a rollup row that is current (store.readings.hourly_rollup), a
count above 0 and finite min and max: then every reading of it lies in [min, max], and it has at
least one. Any other hour (no row, a lagging row, NaN or infinite readings) is read raw.

**threshold (exact).** With "above" (`op=">"`, limit V, clear level C <= V; mirrored for "<"):
an hour whose max is <= V holds no breach, so in a series that is neither firing nor pending
its readings change nothing but reset an (absent) pending hold, and raise nothing. A series
leaves that rest state only in a hot hour (max > V, or not summarised) and is certainly back in
it at the end of a *calm* hour (max <= C: every reading recovered and none breaching, so a
firing series clears at its first reading and nothing is pending after), or, with
`clear_hold_s` > 0, at the end of a run of consecutive calm hours long enough that its last
hour starts `clear_hold_s` past the first one's end. So the hours read are the hot ones and
every hour from a hot one up to and including the next such point; all others are skipped, and
the rule, evaluated as always on what is read, raises the same alerts at the same readings as
on everything. With `only_when`, a calm reading seen while the gate is closed neither recovers
nor breaches, so no hour proves the rest state: a series is then read whole if it has any hot
hour, and not at all otherwise (without a breach a threshold never fires).

**anomaly (approximate, in recall only).** The learned baseline (a streaming median and MAD per
hour of day) moves with every reading, in an order and by signs that a count, min, max and avg
do not determine, so no rollup-only rule can reproduce it, nor bound it tightly enough to prove
an hour harmless. The rollup is used as a *screen* instead. Per series and hour of day it
estimates the baseline: the median of the hourly averages, and a spread, the larger of the
averages' own MAD and the MAD of a normal sample with an hour's count and range (median over
the hours), never below `min_mad`. A series is read, whole, if any of its hours reaches past
3/4 of the rule's `k` of that spread from that median, or if an hour the rollup does not
summarise holds readings; the others are assumed to raise nothing.

- Exact: every alert listed. A series read is read whole and evaluated as always, so its
  alerts are the full evaluation's (same readings, same first_seen, same values).
- Approximate: an alert of a series the screen passed is missed. That takes an anomaly within
  the screen's margin: a learned spread over a third below the estimate (heavy-tailed noise,
  whose range overstates its MAD, about twice for Laplace noise; a baseline warmed up on a flat
  start), or a learned median far from the month's median (a level that drifts within a lane).

`reads="raw"` (rules.backtest.replay) gives the full evaluation for any rule.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import NormalDist
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from rules.arrays import BoolArray, FloatArray
from rules.catalog.anomaly import MAD_TO_SIGMA, AnomalyParams
from rules.catalog.thresholds import ThresholdParams
from store.readings.hourly_rollup import HourlyRollup

HOUR_S = 3600.0
IntArray = npt.NDArray[np.int64]
#: MAD / sigma of a normal distribution.
SIGMA_TO_MAD = 1 / MAD_TO_SIGMA
#: The screen flags at this fraction of the rule's `k`.
SCREEN_FRACTION = 0.75


@dataclass(frozen=True, slots=True)
class HourGrid:
    """The rollup of a window as [series, hour] arrays; row i is `series_ids[i]`, column j the
    UTC hour starting at `first_hour + j * 3600`."""

    series_ids: npt.NDArray[np.int32]
    first_hour: float
    counts: IntArray
    mins: FloatArray
    maxs: FloatArray
    avgs: FloatArray
    summarised: BoolArray

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.series_ids.size), int(self.counts.shape[1]))

    def hour_starts(self) -> FloatArray:
        return self.first_hour + HOUR_S * np.arange(self.shape[1], dtype=np.float64)


def hour_grid(
    rollup: HourlyRollup,
    series_ids: list[int],
    start_s: float,
    end_s: float,
    lagging: Sequence[tuple[float, float]] = (),
) -> HourGrid:
    """The grid of the hours overlapping [start_s, end_s); hours overlapping a `lagging` range
    (epoch seconds) are not summarised, whatever their row says."""
    ids = np.array(sorted(series_ids), dtype=np.int32)
    first = math.floor(start_s / HOUR_S) * HOUR_S
    n_hours = max(0, math.ceil((end_s - first) / HOUR_S))
    shape = (ids.size, n_hours)
    counts = np.zeros(shape, dtype=np.int64)
    mins, maxs, avgs = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    has_row = np.zeros(shape, dtype=bool)
    row = np.searchsorted(ids, rollup.series_ids)
    col = np.round((rollup.hours - first) / HOUR_S).astype(np.int64)
    ok = (row < ids.size) & (col >= 0) & (col < n_hours)
    ok[ok] &= ids[row[ok]] == rollup.series_ids[ok]
    row, col = row[ok], col[ok]
    counts[row, col] = rollup.counts[ok]
    mins[row, col], maxs[row, col] = rollup.mins[ok], rollup.maxs[ok]
    avgs[row, col] = rollup.avgs[ok]
    has_row[row, col] = True
    starts = first + HOUR_S * np.arange(n_hours, dtype=np.float64)
    current = np.ones(n_hours, dtype=bool)
    for lo, hi in lagging:
        current &= ~((starts + HOUR_S > lo) & (starts < hi))
    summarised = has_row & current[None, :] & (counts > 0) & np.isfinite(mins) & np.isfinite(maxs)
    return HourGrid(ids, first, counts, mins, maxs, avgs, summarised)


# -- threshold ---------------------------------------------------------------------------------


def threshold_hours(p: ThresholdParams, grid: HourGrid) -> BoolArray:
    """[series, hour]: must the hour be read raw for `p` (see the module docstring)?"""
    known = grid.summarised
    if p.op == ">":
        hot = ~known | (grid.maxs > p.value)
        calm = known & (grid.maxs <= p.clear_at)
    else:
        hot = ~known | (grid.mins < p.value)
        calm = known & (grid.mins >= p.clear_at)
    if p.only_when is not None:
        return np.repeat(hot.any(axis=1, keepdims=True), grid.shape[1], axis=1)
    rested = calm if p.clear_hold_s == 0 else _runs_ending(calm, _calm_run(p.clear_hold_s))
    n_hours = grid.shape[1]
    index = np.broadcast_to(np.arange(n_hours), hot.shape)
    last_hot = np.maximum.accumulate(np.where(hot, index, -1), axis=1)
    last_rest = np.maximum.accumulate(np.where(rested, index, -1), axis=1)
    unsettled = last_hot > last_rest  # after this hour the series may be pending or firing
    before = np.zeros_like(unsettled)
    before[:, 1:] = unsettled[:, :-1]
    return hot | before


def _calm_run(clear_hold_s: float) -> int:
    """Calm hours in a row that surely clear a firing series with a clear hold: its recovery
    starts by the end of the first, and the last starts `clear_hold_s` after that."""
    return 2 + math.ceil(clear_hold_s / HOUR_S)


def _runs_ending(mask: BoolArray, length: int) -> BoolArray:
    """Where `mask` has been True for the `length` hours ending here."""
    run = np.zeros(mask.shape, dtype=np.int64)
    count = np.zeros(mask.shape[0], dtype=np.int64)
    for j in range(mask.shape[1]):
        count = np.where(mask[:, j], count + 1, 0)
        run[:, j] = count
    return run >= length


# -- anomaly -----------------------------------------------------------------------------------


def local_hours(hour_starts: FloatArray, zone: str) -> IntArray:
    """The hour of day in `zone` at each UTC hour start (the anomaly rule's buckets)."""
    tz = ZoneInfo(zone)
    return np.array(
        [datetime.fromtimestamp(t, tz).hour for t in hour_starts.tolist()], dtype=np.int64
    )


def anomaly_suspects(p: AnomalyParams, grid: HourGrid, zones: list[str]) -> BoolArray:
    """[series]: does any summarised hour of the series (row i, in zone `zones[i]`) reach past
    the screen's band (see the module docstring)?"""
    suspects = np.zeros(grid.shape[0], dtype=bool)
    starts = grid.hour_starts()
    for zone in sorted(set(zones)):
        rows = np.flatnonzero(np.array(zones) == zone)
        lanes = (
            np.zeros(starts.size, dtype=np.int64)
            if p.buckets == "none"
            else local_hours(starts, zone)
        )
        for lane in np.unique(lanes).tolist():
            cols = np.flatnonzero(lanes == lane)
            suspects[rows] |= _screen(p, grid, rows, cols)
    return suspects


def _screen(p: AnomalyParams, grid: HourGrid, rows: IntArray, cols: IntArray) -> BoolArray:
    known = grid.summarised[np.ix_(rows, cols)]
    avgs = np.where(known, grid.avgs[np.ix_(rows, cols)], np.nan)
    lo = np.where(known, grid.mins[np.ix_(rows, cols)], np.nan)
    hi = np.where(known, grid.maxs[np.ix_(rows, cols)], np.nan)
    with warnings.catch_warnings():  # a series with no summarised hour in the lane: all NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        center = np.nanmedian(avgs, axis=1, keepdims=True)
        spread_days = np.nanmedian(np.abs(avgs - center), axis=1, keepdims=True)
        spread_hour = SIGMA_TO_MAD * np.nanmedian(
            (hi - lo) / _normal_range(grid.counts[np.ix_(rows, cols)]), axis=1, keepdims=True
        )
    mad = np.fmax(np.fmax(spread_days, spread_hour), p.min_mad)
    band = SCREEN_FRACTION * p.k * MAD_TO_SIGMA * np.fmax(mad, 1e-12)
    out = known & ((hi - center > band) | (center - lo > band))
    return np.asarray(out.any(axis=1), dtype=bool)


def _normal_range(counts: IntArray) -> FloatArray:
    """The expected range of `counts` normal samples, in sigmas (Blom's approximation of the
    expected maximum, twice); NaN below 2 samples, whose range says nothing."""
    unique, where = np.unique(counts, return_inverse=True)
    normal = NormalDist()
    table = np.array(
        [
            2 * normal.inv_cdf((n - 0.375) / (n + 0.25)) if n >= 2 else np.nan
            for n in unique.tolist()
        ]
    )
    return table[where].reshape(counts.shape)


# -- ranges ------------------------------------------------------------------------------------


def ranges_of(
    needed: BoolArray, grid: HourGrid, start_s: float, end_s: float
) -> tuple[npt.NDArray[np.int32], FloatArray, FloatArray]:
    """Runs of needed hours as (series id, start, end) in epoch seconds, clipped to the window,
    sorted by series then start."""
    padded = np.zeros((needed.shape[0], needed.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = needed
    edges = np.diff(padded, axis=1)
    rows, first = np.nonzero(edges == 1)
    _, stop = np.nonzero(edges == -1)
    lo = np.maximum(grid.first_hour + HOUR_S * first, start_s)
    hi = np.minimum(grid.first_hour + HOUR_S * stop, end_s)
    return grid.series_ids[rows], lo.astype(np.float64), hi.astype(np.float64)


__all__ = [
    "HourGrid",
    "anomaly_suspects",
    "hour_grid",
    "local_hours",
    "ranges_of",
    "threshold_hours",
]
