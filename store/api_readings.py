"""Readings for the API: raw values in keyset pages, and bucketed aggregates for charts.

Buckets of an hour or more are computed from `readings_hourly` (the continuous aggregate on
TimescaleDB, the rollup view on plain PostgreSQL), so a year of one series is ~8,760 rows
whatever the sampling rate; shorter buckets read raw readings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import TupleRow, class_row

HOUR_S = 3600
DAY_S = 86400


@dataclass(frozen=True, slots=True)
class ReadingRow:
    ts: datetime
    value: float


@dataclass(frozen=True, slots=True)
class BucketColumns:
    """One list per column, a bucket per index: cheap to build and to serialise for charts."""

    #: Start of each bucket in Unix seconds: what chart libraries take, and a third of the size
    #: of RFC 3339 strings in a year of hourly buckets.
    start: list[int]
    avg: list[float]
    min: list[float]
    max: list[float]
    count: list[int]


async def series_id(
    conn: psycopg.AsyncConnection[TupleRow], device_id: int, metric: str
) -> int | None:
    cur = await conn.execute(
        "SELECT id FROM series WHERE device_id = %s AND metric = %s", (device_id, metric)
    )
    row = await cur.fetchone()
    return None if row is None else int(row[0])


async def raw(
    conn: psycopg.AsyncConnection[TupleRow],
    series: int,
    start: datetime,
    end: datetime,
    *,
    after: datetime | None = None,
    limit: int = 1000,
) -> list[ReadingRow]:
    """Readings in [start, end) oldest first; `after` is the last timestamp of the previous page."""
    async with conn.cursor(row_factory=class_row(ReadingRow)) as cur:
        await cur.execute(
            """
            SELECT ts, value FROM readings
            WHERE series_id = %(series)s AND ts >= %(start)s AND ts < %(end)s
              AND (%(after)s::timestamptz IS NULL OR ts > %(after)s)
            ORDER BY ts LIMIT %(limit)s
            """,
            {"series": series, "start": start, "end": end, "after": after, "limit": limit},
        )
        return await cur.fetchall()


async def buckets(
    conn: psycopg.AsyncConnection[TupleRow],
    series: int,
    start: datetime,
    end: datetime,
    bucket_s: int,
    timezone: str,
) -> BucketColumns:
    """avg/min/max/count per bucket of `bucket_s` seconds in [start, end).

    Day buckets are the site's local days (`timezone`); shorter ones are aligned to UTC
    (the same as local hours in every zone with a whole-hour offset). From an hour up, the
    hourly rollup is read and its buckets combined (avg weighted by count), so a bucket
    covers whole hours: [start, end) is widened to the hours it touches.
    """
    if bucket_s == DAY_S:
        bin_expr = "date_trunc('day', {col}, %(tz)s)"
    else:
        bin_expr = "date_bin(make_interval(secs => %(bucket_s)s), {col}, TIMESTAMPTZ '2000-01-01')"
    if bucket_s == HOUR_S:  # the rollup's own buckets: nothing to combine
        query = """
            SELECT extract(epoch FROM bucket)::bigint, avg_value, min_value, max_value,
                   sample_count::bigint
            FROM readings_hourly
            WHERE series_id = %(series)s
              AND bucket >= date_trunc('hour', %(start)s::timestamptz) AND bucket < %(end)s
            ORDER BY bucket
        """
    elif bucket_s > HOUR_S:
        query = f"""
            SELECT extract(epoch FROM {bin_expr.format(col="bucket")})::bigint AS bucket,
                   sum(avg_value * sample_count) / sum(sample_count) AS avg,
                   min(min_value) AS min, max(max_value) AS max, sum(sample_count)::bigint AS count
            FROM readings_hourly
            WHERE series_id = %(series)s
              AND bucket >= date_trunc('hour', %(start)s::timestamptz) AND bucket < %(end)s
            GROUP BY 1 ORDER BY 1
        """
    else:
        query = f"""
            SELECT extract(epoch FROM {bin_expr.format(col="ts")})::bigint AS bucket,
                   avg(value) AS avg, min(value) AS min, max(value) AS max, count(*) AS count
            FROM readings
            WHERE series_id = %(series)s AND ts >= %(start)s AND ts < %(end)s
            GROUP BY 1 ORDER BY 1
        """
    params = {"series": series, "start": start, "end": end, "bucket_s": bucket_s, "tz": timezone}
    # Binary results: a year of hourly buckets parses in half the time of text.
    async with conn.cursor(binary=True) as cur:
        await cur.execute(query, params)
        rows = await cur.fetchall()
    if not rows:
        return BucketColumns([], [], [], [], [])
    start_col, avg, low, high, count = (list(column) for column in zip(*rows, strict=True))
    return BucketColumns(start_col, avg, low, high, count)
