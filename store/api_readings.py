"""Readings for the API: raw values in keyset pages, and bucketed aggregates for charts.

Buckets of an hour or more are computed from `readings_hourly` (the continuous aggregate on
TimescaleDB, the rollup view on plain PostgreSQL), so a year of one series is ~8,760 rows
whatever the sampling rate; shorter buckets read raw readings.

A year of hourly buckets is 8,760 rows x 5 columns, and turning that many rows into Python
objects cost psycopg ~7 ms, more than the query. So each column comes back as one PostgreSQL
array in its binary send format, which numpy reads in one go (~0.5 ms for all five), and they
stay numpy arrays for the JSON encoder (orjson writes them ~4x faster than lists of floats).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg.rows import TupleRow, class_row

from store import binary_copy

HOUR_S = 3600
DAY_S = 86400

#: The binary send format of a one-dimensional array: ndim, has-nulls flag, element type, then
#: the dimension's length and lower bound (int32 each); then each element as its int32 length
#: and its bytes.
_ARRAY_HEADER = np.dtype([("ndim", ">i4"), ("has_nulls", ">i4"), ("oid", ">u4"), ("n", ">i4")])
_ARRAY_HEADER_BYTES = 20
_INT8_ELEMENTS = np.dtype([("length", ">i4"), ("value", ">i8")])
_FLOAT8_ELEMENTS = np.dtype([("length", ">i4"), ("value", ">f8")])


@dataclass(frozen=True, slots=True)
class ReadingRow:
    ts: datetime
    value: float


@dataclass(frozen=True, slots=True)
class BucketColumns:
    """One array per column, a bucket per index: cheap to build and to serialise for charts
    (native byte order and contiguous, as orjson's OPT_SERIALIZE_NUMPY wants them)."""

    #: Start of each bucket in Unix seconds: what chart libraries take, and a third of the size
    #: of RFC 3339 strings in a year of hourly buckets.
    start: npt.NDArray[np.int64]
    avg: npt.NDArray[np.float64]
    min: npt.NDArray[np.float64]
    max: npt.NDArray[np.float64]
    count: npt.NDArray[np.int64]

    @classmethod
    def empty(cls) -> BucketColumns:
        no_floats = np.empty(0, dtype=np.float64)
        no_ints = np.empty(0, dtype=np.int64)
        return cls(no_ints, no_floats, no_floats, no_floats, no_ints)


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
    query = _columns_query(bucket_s, series="%(series)s", zone="%(tz)s", select="")
    params = {"series": series, "start": start, "end": end, "bucket_s": bucket_s, "tz": timezone}
    async with conn.cursor(binary=True) as cur:
        await cur.execute(query, params)
        row = await cur.fetchone()
    return BucketColumns.empty() if row is None else _columns(row[0:5])


@dataclass(frozen=True, slots=True)
class Chart:
    timezone: str
    columns: BucketColumns


async def chart(
    conn: psycopg.AsyncConnection[TupleRow],
    device_id: int,
    metric: str,
    site_id: str,
    start: datetime,
    end: datetime,
    bucket_s: int,
) -> Chart:
    """The site's zone ("UTC" for an unknown site) and `buckets` of the device's `metric` (none
    if it has no such series), in one round trip: a chart of a year is ~5 ms of database time,
    and the two look-ups as queries of their own added a third to the API's cost."""
    query = _columns_query(
        bucket_s,
        series="(SELECT id FROM series WHERE device_id = %(device)s AND metric = %(metric)s)",
        zone="(SELECT tz FROM zone)",
        select="(SELECT tz FROM zone), ",
    )
    zone = "SELECT coalesce((SELECT timezone FROM sites WHERE id = %(site)s), 'UTC') AS tz"
    params = {
        "device": device_id,
        "metric": metric,
        "site": site_id,
        "start": start,
        "end": end,
        "bucket_s": bucket_s,
    }
    async with conn.cursor(binary=True) as cur:
        await cur.execute(f"WITH zone AS ({zone}) {query}", params)
        row = await cur.fetchone()
    assert row is not None  # an aggregate without GROUP BY gives one row
    return Chart(timezone=str(row[0]), columns=_columns(row[1:6]))


def _columns_query(bucket_s: int, *, series: str, zone: str, select: str) -> str:
    """The bucket columns of `series` (an SQL expression) as five arrays in binary send format:
    (bucket timestamptz, avg float8, min float8, max float8, count int8), after `select`."""
    if bucket_s == DAY_S:
        bin_expr = f"date_trunc('day', {{col}}, {zone})"
    else:
        bin_expr = "date_bin(make_interval(secs => %(bucket_s)s), {col}, TIMESTAMPTZ '2000-01-01')"
    if bucket_s == HOUR_S:  # the rollup's own buckets: nothing to combine
        # An index-only scan of the rollup's primary key (migration 0010), already in order.
        query = f"""
            SELECT bucket, avg_value, min_value, max_value, sample_count::bigint
            FROM readings_hourly
            WHERE series_id = {series}
              AND bucket >= date_trunc('hour', %(start)s::timestamptz) AND bucket < %(end)s
            ORDER BY bucket
        """
    elif bucket_s > HOUR_S:
        query = f"""
            SELECT {bin_expr.format(col="bucket")} AS bucket,
                   sum(avg_value * sample_count) / sum(sample_count) AS avg,
                   min(min_value) AS min, max(max_value) AS max, sum(sample_count)::bigint AS count
            FROM readings_hourly
            WHERE series_id = {series}
              AND bucket >= date_trunc('hour', %(start)s::timestamptz) AND bucket < %(end)s
            GROUP BY 1 ORDER BY 1
        """
    else:
        query = f"""
            SELECT {bin_expr.format(col="ts")} AS bucket,
                   avg(value) AS avg, min(value) AS min, max(value) AS max, count(*) AS count
            FROM readings
            WHERE series_id = {series} AND ts >= %(start)s AND ts < %(end)s
            GROUP BY 1 ORDER BY 1
        """
    # One array per column, fed in bucket order by the sorted subquery (an ORDER BY inside each
    # array_agg would sort five times on PostgreSQL 15); the order is checked in _columns.
    return f"""
        SELECT {select}array_send(array_agg(bucket)), array_send(array_agg(avg)),
               array_send(array_agg(min)), array_send(array_agg(max)),
               array_send(array_agg(count))
        FROM ({query}) AS b (bucket, avg, min, max, count)
    """


def _columns(arrays: Sequence[bytes | None]) -> BucketColumns:
    if arrays[0] is None:  # no rows: array_agg gives NULL
        return BucketColumns.empty()
    data = [a for a in arrays if a is not None]
    micros = _array(data[0], _INT8_ELEMENTS).astype(np.int64)  # since 2000-01-01 UTC
    avg, low, high = (_array(data[i], _FLOAT8_ELEMENTS).astype(np.float64) for i in (1, 2, 3))
    count = _array(data[4], _INT8_ELEMENTS).astype(np.int64)
    if len(micros) > 1 and not bool(np.all(micros[1:] > micros[:-1])):
        order = np.argsort(micros, kind="stable")
        micros, avg, low, high, count = (
            micros[order],
            avg[order],
            low[order],
            high[order],
            count[order],
        )
    return BucketColumns(micros // 1_000_000 + binary_copy.PG_EPOCH_S, avg, low, high, count)


def _array(data: bytes, elements: np.dtype[np.void]) -> npt.NDArray[np.void]:
    """The values of a one-dimensional array without NULLs, from PostgreSQL's binary format
    (big-endian, as sent)."""
    header = np.frombuffer(data, dtype=_ARRAY_HEADER, count=1)[0]
    if header["ndim"] != 1 or header["has_nulls"]:
        raise ValueError("expected a one-dimensional array without NULLs")
    values = np.frombuffer(data, dtype=elements, offset=_ARRAY_HEADER_BYTES)
    if len(values) != header["n"] or bool(np.any(values["length"] != 8)):
        raise ValueError("unexpected element layout in a binary array")
    return values["value"]
