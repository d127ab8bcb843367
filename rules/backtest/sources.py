"""Where a backtest's readings come from: every stored reading of the window (the raw path), or
only those the hourly rollup cannot rule out (rules.backtest.plan says which, and how exact).

`plan_reads` returns None for the raw path: for kinds without a plan, and when the plan would
read most of the window anyway. A plan reads either hour ranges of series ("hours": threshold)
or whole series ("series": threshold with `only_when`, anomaly), in the raw path's chunks, so
rules see the same batch borders.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg.rows import TupleRow

from rules.arrays import FloatArray
from rules.backtest.plan import (
    HourGrid,
    anomaly_suspects,
    hour_grid,
    ranges_of,
    threshold_hours,
)
from rules.catalog.anomaly import AnomalyParams
from rules.catalog.thresholds import ThresholdParams
from rules.definitions import RuleDefinition
from rules.directory import Directory
from rules.registry import params_of
from store.readings import history, hourly_rollup

#: Kinds with a plan.
PLANNED_KINDS = frozenset({"threshold", "anomaly"})
#: Past this share of the window's (series, hour) cells, reading everything is as cheap.
MOSTLY = 0.5


@dataclass(frozen=True, slots=True)
class Plan:
    #: "hours": `ranges` only; "series": every reading of `series`.
    path: str
    series: tuple[int, ...]
    ranges: tuple[npt.NDArray[np.int32], FloatArray, FloatArray] | None = None
    #: (series, hour) cells of the window, and how many the plan reads.
    cells: int = 0
    cells_read: int = 0
    #: False when a screen decided what to skip (anomalies): an alert may be missing.
    exact: bool = True


def plan_reads(
    conn: psycopg.Connection[TupleRow],
    definition: RuleDefinition,
    names: Mapping[int, tuple[str, str, str]],
    directory: Directory,
    start: datetime,
    end: datetime,
) -> Plan | None:
    """The reads `definition` needs over [start, end), or None for every reading."""
    if definition.kind not in PLANNED_KINDS:
        return None
    params = params_of(definition)
    ids = sorted(sid for sid, (_, _, metric) in names.items() if metric == params.metric)
    if not ids:
        return Plan("series", ())
    start_s, end_s = start.timestamp(), end.timestamp()
    # First: on TimescaleDB, finding what lags refreshes the rollup before it is read.
    lagging = [
        (lo.timestamp(), hi.timestamp())
        for lo, hi in hourly_rollup.lagging_ranges(conn, start, end)
    ]
    grid = hour_grid(hourly_rollup.read_rollup(conn, ids, start, end), ids, start_s, end_s, lagging)
    cells = grid.shape[0] * grid.shape[1]
    if isinstance(params, ThresholdParams):
        needed = threshold_hours(params, grid)
        if needed.sum() > MOSTLY * cells:
            return None
        wanted = grid.series_ids[needed.any(axis=1)].tolist()
        if params.only_when is not None:
            devices = {names[sid][:2] for sid in wanted}
            gates = [
                sid
                for sid, (s, d, m) in names.items()
                if m == params.only_when and (s, d) in devices
            ]
            return Plan("series", tuple(sorted({*wanted, *gates})), None, cells, int(needed.sum()))
        return Plan(
            "hours",
            tuple(wanted),
            ranges_of(needed, grid, start_s, end_s),
            cells,
            int(needed.sum()),
        )
    if isinstance(params, AnomalyParams):
        if (~grid.summarised).sum() > MOSTLY * cells:  # no rollup to speak of
            return None
        zones = [
            params.timezone or directory.timezone_of(names[int(sid)][0])
            for sid in grid.series_ids.tolist()
        ]
        suspects = anomaly_suspects(params, grid, zones) | _holds_unsummarised(
            conn, grid, start, end
        )
        if suspects.sum() > MOSTLY * grid.shape[0]:
            return None
        read = int(suspects.sum()) * grid.shape[1]
        series = tuple(grid.series_ids[suspects].tolist())
        return Plan("series", series, None, cells, read, exact=False)
    return None


def _holds_unsummarised(
    conn: psycopg.Connection[TupleRow], grid: HourGrid, start: datetime, end: datetime
) -> npt.NDArray[np.bool_]:
    """[series]: does an hour the rollup does not summarise hold readings? (Usually such hours
    are gaps, which change nothing.)"""
    sids, lo, hi = ranges_of(~grid.summarised, grid, start.timestamp(), end.timestamp())
    found = hourly_rollup.read_ranges(
        conn, sids, _datetimes(lo, start, end), _datetimes(hi, start, end)
    )
    present = np.unique(found.series_ids[np.isfinite(found.values)])
    return np.isin(grid.series_ids, present)


def hour_chunks(
    conn: psycopg.Connection[TupleRow],
    plan: Plan,
    start: datetime,
    end: datetime,
    *,
    sites: Collection[str] | None,
    event_types: Collection[str] | None,
    chunk_s: float,
) -> Iterator[history.HistoryChunk]:
    """The raw path's chunks of [start, end), holding only the hour ranges of an "hours" plan
    (a "series" plan reads whole series: store.readings.history.chunks does that)."""
    for lo, hi in history.windows(start, end, chunk_s):
        readings = _ranges_within(conn, plan, lo, hi)
        events = tuple(history.read_events(conn, lo, hi, sites, event_types))
        yield history.HistoryChunk(lo, hi, readings, events)


def _ranges_within(
    conn: psycopg.Connection[TupleRow], plan: Plan, start: datetime, end: datetime
) -> history.ReadingColumns:
    if plan.ranges is None:
        return history.EMPTY
    sids, lo, hi = plan.ranges
    inside = (hi > start.timestamp()) & (lo < end.timestamp())
    if not inside.any():
        return history.EMPTY
    return hourly_rollup.read_ranges(
        conn, sids[inside], _datetimes(lo[inside], start, end), _datetimes(hi[inside], start, end)
    )


def _datetimes(epochs: FloatArray, start: datetime, end: datetime) -> list[datetime]:
    """Epoch seconds as datetimes, clipped to [start, end] (whose own values are kept exact:
    a window's borders may carry microseconds that a float round trip could shift)."""
    lo_s, hi_s = start.timestamp(), end.timestamp()
    return [
        start if t <= lo_s else end if t >= hi_s else datetime.fromtimestamp(t, UTC)
        for t in epochs.tolist()
    ]


__all__ = ["PLANNED_KINDS", "Plan", "hour_chunks", "plan_reads"]
