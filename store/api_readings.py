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
class BucketRow:
    bucket: datetime
    avg: float
    min: float
    max: float
    count: int


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
) -> list[BucketRow]:
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
    if bucket_s >= HOUR_S:
        query = f"""
            SELECT {bin_expr.format(col="bucket")} AS bucket,
                   sum(avg_value * sample_count) / sum(sample_count) AS avg,
                   min(min_value) AS min, max(max_value) AS max, sum(sample_count)::bigint AS count
            FROM readings_hourly
            WHERE series_id = %(series)s
              AND bucket >= date_trunc('hour', %(start)s::timestamptz) AND bucket < %(end)s
            GROUP BY 1 ORDER BY 1
        """
    else:
        query = f"""
            SELECT {bin_expr.format(col="ts")} AS bucket, avg(value) AS avg, min(value) AS min,
                   max(value) AS max, count(*) AS count
            FROM readings
            WHERE series_id = %(series)s AND ts >= %(start)s AND ts < %(end)s
            GROUP BY 1 ORDER BY 1
        """
    params = {"series": series, "start": start, "end": end, "bucket_s": bucket_s, "tz": timezone}
    async with conn.cursor(row_factory=class_row(BucketRow)) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()
