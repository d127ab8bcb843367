"""Reads for backtests that read less: the hourly rollup of a window, the hours of it that may lag
the raw readings, and raw readings of chosen (series, time range) pairs.

The rollup (`readings_hourly`: count, min, max, avg per series and UTC hour) is only a summary a
backtest may trust where it is current:

- plain PostgreSQL: the writer adds each reading to `readings_hourly_rollup` in the transaction
  that stores it, so the rollup is never behind the committed readings. Rows loaded into
  `readings` some other way (a bulk COPY around the writer) have no rollup row, and an hour
  without one is read raw by the planner; rows added that way to an hour that already has one
  make it stale, which nothing here can see.
- TimescaleDB: `readings_hourly` is a real-time continuous aggregate: current from its
  watermark on, but below it an hour that received rows after its last refresh is stale until
  the refresh policy comes round. So the window is refreshed first with the documented
  `refresh_continuous_aggregate` (it recomputes only what was invalidated), which needs a
  connection outside a transaction (an autocommit one). When that is not possible (inside the
  caller's transaction, or it fails), the whole window counts as lagging: read raw, never
  guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg.rows import TupleRow

from store.backend import Backend, backend_of
from store.readings import binary_copy, hourly_packs
from store.readings.history import EMPTY, ReadingColumns, parse_binary_copy

_HOUR = timedelta(hours=1)
_ROLLUP_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("sid_len", ">i4"),
        ("sid", ">i4"),
        ("bucket_len", ">i4"),
        ("bucket", ">i8"),  # microseconds since 2000-01-01 UTC
        ("count_len", ">i4"),
        ("count", ">i8"),
        ("min_len", ">i4"),
        ("min", ">f8"),
        ("max_len", ">i4"),
        ("max", ">f8"),
        ("avg_len", ">i4"),
        ("avg", ">f8"),
    ]
)


@dataclass(frozen=True, slots=True)
class HourlyRollup:
    """Rollup rows as parallel arrays, in no particular order; `hours` are the UTC hour starts
    (epoch seconds). Min, max and avg may be NaN: PostgreSQL stores NaN readings and orders
    NaN above every number."""

    series_ids: npt.NDArray[np.int32]
    hours: npt.NDArray[np.float64]
    counts: npt.NDArray[np.int64]
    mins: npt.NDArray[np.float64]
    maxs: npt.NDArray[np.float64]
    avgs: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.series_ids.size)


def hour_floor(t: datetime) -> datetime:
    """The start of the UTC hour holding `t` (the rollup's buckets are UTC hours)."""
    return t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def read_rollup(
    conn: psycopg.Connection[TupleRow],
    series_ids: list[int],
    start: datetime,
    end: datetime,
) -> HourlyRollup:
    """The rollup rows of `series_ids` for the hours that overlap [start, end)."""
    query = sql.SQL(
        "COPY (SELECT series_id::int4, bucket, sample_count::int8,"
        " coalesce(min_value, 'NaN')::float8, coalesce(max_value, 'NaN')::float8,"
        " coalesce(avg_value, 'NaN')::float8 FROM readings_hourly"
        " WHERE bucket >= {lo} AND bucket < {hi} AND series_id = ANY({ids}))"
        " TO STDOUT (FORMAT BINARY)"
    ).format(
        lo=sql.Literal(hour_floor(start)),
        hi=sql.Literal(end),
        ids=sql.Literal("{" + ",".join(str(int(i)) for i in sorted(series_ids)) + "}"),
    )
    rows = binary_copy.rows(binary_copy.copy_out(conn, query), _ROLLUP_ROW)
    return HourlyRollup(
        rows["sid"].astype(np.int32),
        binary_copy.epochs(rows["bucket"]),
        rows["count"].astype(np.int64),
        rows["min"].astype(np.float64),
        rows["max"].astype(np.float64),
        rows["avg"].astype(np.float64),
    )


def lagging_ranges(
    conn: psycopg.Connection[TupleRow], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Time ranges within [start, end) where the rollup may not hold every stored reading (see
    the module docstring): none on plain PostgreSQL, none on TimescaleDB once the window is
    refreshed, else the whole window."""
    if backend_of(conn) is not Backend.TIMESCALEDB:
        return []
    if conn.info.transaction_status is not TransactionStatus.IDLE:
        return [(start, end)]  # CALL refresh_continuous_aggregate refuses a transaction block
    # Whole hours: a refresh only materialises buckets entirely inside its window.
    window = (hour_floor(start), hour_floor(end) + _HOUR)
    autocommit = conn.autocommit
    try:
        conn.autocommit = True
        conn.execute(
            "CALL refresh_continuous_aggregate('readings_hourly', %s::timestamptz,"
            " %s::timestamptz)",
            window,
        )
        # The refresh may have changed old hours of the aggregate that charts read packed.
        hourly_packs.forget(conn, *window)
    except psycopg.Error:
        return [(start, end)]
    finally:
        conn.autocommit = autocommit
    return []


def read_ranges(
    conn: psycopg.Connection[TupleRow],
    series_ids: npt.NDArray[np.int32],
    starts: list[datetime],
    ends: list[datetime],
) -> ReadingColumns:
    """The readings of series_ids[i] with starts[i] <= ts < ends[i], for every i (ranges of one
    series should not overlap: a reading in two of them comes twice)."""
    if not series_ids.size:
        return EMPTY
    query = sql.SQL(
        "COPY (SELECT r.series_id, r.ts, r.value"
        " FROM unnest({ids}::int4[], {los}::timestamptz[], {his}::timestamptz[]) AS q(sid, lo, hi)"
        " JOIN readings r ON r.series_id = q.sid AND r.ts >= q.lo AND r.ts < q.hi)"
        " TO STDOUT (FORMAT BINARY)"
    ).format(
        ids=sql.Literal("{" + ",".join(str(int(i)) for i in series_ids.tolist()) + "}"),
        los=sql.Literal(_stamps(starts)),
        his=sql.Literal(_stamps(ends)),
    )
    return parse_binary_copy(binary_copy.copy_out(conn, query))


def _stamps(values: list[datetime]) -> str:
    return "{" + ",".join(f'"{v.astimezone(UTC).isoformat()}"' for v in values) + "}"


__all__ = ["HourlyRollup", "hour_floor", "lagging_ranges", "read_ranges", "read_rollup"]
