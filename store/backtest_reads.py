"""Reads for backtests that read less: the hourly rollup of a window, the hours of it that may lag
the raw readings, and raw readings of chosen (series, time range) pairs.

The rollup (`readings_hourly`: count, min, max, avg per series and UTC hour) is only a summary a
backtest may trust where it is current:

- plain PostgreSQL: the writer adds each reading to `readings_hourly_rollup` in the transaction
  that stores it, so the rollup is never behind the committed readings. Rows loaded into
  `readings` some other way (a bulk COPY around the writer) have no rollup row, and an hour
  without one is read raw by the planner; rows added that way to an hour that already has one
  make it stale, which nothing here can see.
- TimescaleDB: `readings_hourly` is a real-time continuous aggregate, computed from the raw rows
  from its watermark on; below it, the hours that changed since their last refresh are listed in
  the invalidation logs until the refresh policy catches up. Those hours lag. When the catalogue
  cannot be read (another TimescaleDB version), the whole window lags: read raw, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from store.backend import Backend, backend_of
from store.history import EMPTY, ReadingColumns, parse_binary_copy

_PG_EPOCH_S = 946_684_800.0
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
    buf = _copy_out(conn, query)
    rows = np.frombuffer(_body(buf), dtype=_ROLLUP_ROW) if buf else np.empty(0, _ROLLUP_ROW)
    return HourlyRollup(
        rows["sid"].astype(np.int32),
        rows["bucket"].astype(np.float64) / 1e6 + _PG_EPOCH_S,
        rows["count"].astype(np.int64),
        rows["min"].astype(np.float64),
        rows["max"].astype(np.float64),
        rows["avg"].astype(np.float64),
    )


def lagging_ranges(
    conn: psycopg.Connection[TupleRow], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Time ranges within [start, end) where the rollup may not yet hold every stored reading
    (see the module docstring); empty on plain PostgreSQL."""
    if backend_of(conn) is not Backend.TIMESCALEDB:
        return []
    try:
        with conn.transaction():
            rows = conn.execute(_TIMESCALE_INVALIDATIONS, {"start": start, "end": end}).fetchall()
    except psycopg.Error:
        return [(start, end)]
    return [(max(lo, start), min(hi, end)) for lo, hi in rows]


# Pending invalidations of `readings_hourly`: those not yet moved from the hypertable's log and
# those moved to the aggregate's own log but not yet refreshed. Values are the hypertable's
# internal time (microseconds since the Unix epoch), -/+ infinity as the int8 extremes.
_TIMESCALE_INVALIDATIONS = """
WITH agg AS (
    SELECT c.mat_hypertable_id, c.raw_hypertable_id
    FROM _timescaledb_catalog.continuous_agg c
    WHERE c.user_view_name = 'readings_hourly'
), pending AS (
    SELECT h.lowest_modified_value AS lo, h.greatest_modified_value AS hi
    FROM _timescaledb_catalog.continuous_aggs_hypertable_invalidation_log h
    JOIN agg ON h.hypertable_id = agg.raw_hypertable_id
    UNION ALL
    SELECT m.lowest_modified_value, m.greatest_modified_value
    FROM _timescaledb_catalog.continuous_aggs_materialization_invalidation_log m
    JOIN agg ON m.materialization_id = agg.mat_hypertable_id
)
SELECT to_timestamp(greatest(lo, -1e15) / 1e6), to_timestamp(least(hi, 1e15) / 1e6) + '1 hour'
FROM pending
WHERE to_timestamp(least(hi, 1e15) / 1e6) + '1 hour' > %(start)s
  AND to_timestamp(greatest(lo, -1e15) / 1e6) < %(end)s
"""


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
    return parse_binary_copy(_copy_out(conn, query))


def _stamps(values: list[datetime]) -> str:
    return "{" + ",".join(f'"{v.astimezone(UTC).isoformat()}"' for v in values) + "}"


def _copy_out(conn: psycopg.Connection[TupleRow], query: sql.Composed) -> bytes:
    buf = bytearray()
    with conn.cursor() as cur, cur.copy(query) as copy:
        for data in copy:
            buf += data
    return bytes(buf)


def _body(buf: bytes) -> memoryview:
    header = 19 + int.from_bytes(buf[15:19], "big")
    return memoryview(buf)[header : len(buf) - 2]


__all__ = ["HourlyRollup", "hour_floor", "lagging_ranges", "read_ranges", "read_rollup"]
