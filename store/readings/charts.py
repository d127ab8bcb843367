"""Readings for the API: raw values in keyset pages, and bucketed aggregates for charts.

Buckets of an hour or more are computed from `readings_hourly` (the continuous aggregate on
TimescaleDB, the rollup view on plain PostgreSQL), so a year of one series is ~8,760 rows
whatever the sampling rate; shorter buckets read raw readings. Hourly buckets come mostly from
the packed weeks of the rollup (store/readings/hourly_packs.py): a year is ~52 rows of bytes, and
only the hours no pack covers are rollup rows.

A year of hourly buckets is 8,760 rows x 5 columns, and turning that many rows into Python
objects cost psycopg ~7 ms, more than the query. So each column comes back as one PostgreSQL
array in its binary send format, which numpy reads in one go (~0.5 ms for all five), and they
stay numpy arrays for the JSON encoder (orjson writes them ~4x faster than lists of floats).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg.rows import TupleRow, class_row

from store.access.visibility import Visibility, Where, visible_devices
from store.readings import binary_copy, hourly_packs

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
    query = _columns_query(bucket_s, series="%(series)s", select="")
    params = {"series": series, "start": start, "end": end, "bucket_s": bucket_s}
    async with conn.cursor(binary=True) as cur:
        await cur.execute(query, params)
        row = await cur.fetchone()
    if row is None:
        return BucketColumns.empty()
    return _combined(_columns(row[0], row[1:6]), bucket_s, timezone)


@dataclass(frozen=True, slots=True)
class Chart:
    site_id: str
    device_key: str
    timezone: str
    columns: BucketColumns


async def chart(
    conn: psycopg.AsyncConnection[TupleRow],
    visibility: Visibility,
    device_id: int,
    metric: str,
    start: datetime,
    end: datetime,
    bucket_s: int,
) -> Chart | None:
    """`buckets` of the device's `metric` (none if it has no such series) with the device's site
    and its zone ("UTC" for a site without a row), or None when `visibility` does not show the
    device. One round trip: a chart is a few ms of database time, and the device check and the
    look-ups as queries of their own added about a third to the API's cost."""
    device = Where()
    device.add("d.id = %(device)s", device=device_id)
    visible_devices(device, visibility)
    zone = "coalesce((SELECT timezone FROM sites WHERE id = (SELECT site_id FROM device)), 'UTC')"
    query = _columns_query(
        bucket_s,
        series="(SELECT id FROM series"
        " WHERE device_id = (SELECT id FROM device) AND metric = %(metric)s)",
        select=f"(SELECT site_id FROM device), (SELECT device_key FROM device), {zone}, ",
        ctes=f"device AS (SELECT d.id, d.site_id, d.device_key FROM devices d {device.sql()})",
    )
    params = {"metric": metric, "start": start, "end": end, "bucket_s": bucket_s}
    async with conn.cursor(binary=True) as cur:
        await cur.execute(query, {**device.params, **params})
        row = await cur.fetchone()
    assert row is not None  # an aggregate without GROUP BY gives one row
    if row[0] is None:
        return None
    timezone = str(row[2])
    columns = _combined(_columns(row[3], row[4:9]), bucket_s, timezone)
    return Chart(str(row[0]), str(row[1]), timezone, columns)


def _columns_query(bucket_s: int, *, series: str, select: str, ctes: str = "") -> str:
    """The bucket columns of `series` (an SQL expression), after `select` (with the common table
    expressions `ctes`): the packed hours of whole periods (bytea, else NULL), then five arrays
    in binary send format (bucket timestamptz, avg float8, min float8, max float8, count int8)
    of the other buckets. From an hour up these are the hourly buckets, for `_combined`."""
    if bucket_s >= HOUR_S:
        return _hourly_query(series=series, select=select, ctes=ctes)
    bucket = "date_bin(make_interval(secs => %(bucket_s)s), ts, TIMESTAMPTZ '2000-01-01')"
    # One array per column, fed in bucket order by the sorted subquery (an ORDER BY inside each
    # array_agg would sort five times on PostgreSQL 15); the order is checked in _columns.
    return f"""
        {f"WITH {ctes}" if ctes else ""}
        SELECT {select}NULL::bytea, {_ARRAYS}
        FROM (
            SELECT {bucket} AS bucket,
                   avg(value) AS avg, min(value) AS min, max(value) AS max, count(*) AS count
            FROM readings
            WHERE series_id = {series} AND ts >= %(start)s AND ts < %(end)s
            GROUP BY 1 ORDER BY 1
        ) AS b (bucket, avg, min, max, count)
    """


_ARRAYS = """array_send(array_agg(bucket)), array_send(array_agg(avg)),
             array_send(array_agg(min)), array_send(array_agg(max)),
             array_send(array_agg(count))"""


def _hourly_query(*, series: str, select: str, ctes: str) -> str:
    """The rollup's own buckets: the packs of the whole periods in range
    (store/readings/hourly_packs.py) and the rollup rows of the hours no pack covers (the last week
    or two, a partial first period, any period not packed), each such gap an index-only range scan
    (migration 0010). The packs come in no particular order: _columns sorts the buckets."""
    first_hour = "date_trunc('hour', %(start)s::timestamptz)"
    period = hourly_packs.PERIOD_SQL
    return f"""
        WITH {f"{ctes}," if ctes else ""} packs AS (
            SELECT period, hours FROM readings_hourly_packs
            WHERE series_id = {series}
              AND period >= {first_hour} AND period <= %(end)s::timestamptz - {period}
        ), gaps AS (
            SELECT lo, hi FROM (
                SELECT coalesce(lag(period + {period}) OVER (ORDER BY period), {first_hour}),
                       period
                FROM packs
                UNION ALL
                SELECT coalesce(max(period) + {period}, {first_hour}), %(end)s::timestamptz
                FROM packs
            ) AS g (lo, hi)
            WHERE lo < hi
        ), b AS (
            SELECT r.* FROM gaps CROSS JOIN LATERAL (
                SELECT bucket, avg_value, min_value, max_value, sample_count::bigint
                FROM readings_hourly
                WHERE series_id = {series} AND bucket >= gaps.lo AND bucket < gaps.hi
            ) AS r (bucket, avg, min, max, count)
        )
        SELECT {select}(SELECT string_agg(hours, ''::bytea) FROM packs), {_ARRAYS}
        FROM b
    """


def _columns(packed: bytes | None, arrays: Sequence[bytes | None]) -> BucketColumns:
    """The packed hours and the arrays of the other buckets (NULL when there are none: an
    array_agg of no rows), as one set of columns in bucket order."""
    packed_hours = np.frombuffer(packed or b"", dtype=hourly_packs.HOUR_RECORD)
    rest_avg: npt.NDArray[np.generic]
    rest_min: npt.NDArray[np.generic]
    rest_max: npt.NDArray[np.generic]
    rest_count: npt.NDArray[np.generic]
    if arrays[0] is None:
        micros = np.empty(0, dtype=np.int64)
        rest_avg = rest_min = rest_max = np.empty(0, dtype=np.float64)
        rest_count = np.empty(0, dtype=np.int64)
    else:
        data = [a for a in arrays if a is not None]
        micros = _array(data[0], _INT8_ELEMENTS).astype(np.int64)  # since 2000-01-01 UTC
        rest_avg, rest_min, rest_max = (_array(data[i], _FLOAT8_ELEMENTS) for i in (1, 2, 3))
        rest_count = _array(data[4], _INT8_ELEMENTS)
    # concatenate also turns the big-endian values native, as orjson wants them.
    seconds = np.concatenate(
        [packed_hours["start"], micros // 1_000_000 + binary_copy.PG_EPOCH_S]
    ).astype(np.int64)
    avg, low, high = (
        np.concatenate([packed_hours[c], rest]).astype(np.float64)
        for c, rest in (("avg", rest_avg), ("min", rest_min), ("max", rest_max))
    )
    count = np.concatenate([packed_hours["count"], rest_count]).astype(np.int64)
    if len(seconds) > 1 and not bool(np.all(seconds[1:] > seconds[:-1])):
        order = np.argsort(seconds, kind="stable")
        seconds, avg, low, high, count = (
            seconds[order],
            avg[order],
            low[order],
            high[order],
            count[order],
        )
    return BucketColumns(seconds, avg, low, high, count)


def _combined(hours: BucketColumns, bucket_s: int, timezone: str) -> BucketColumns:
    """Hourly buckets (in order) summed into buckets of `bucket_s`: the local days of `timezone`
    for a day, else spans aligned to 2000-01-01 UTC (as date_bin); the avg weighted by count.
    Shorter buckets come as they are."""
    if bucket_s <= HOUR_S or not hours.start.size:
        return hours
    if bucket_s == DAY_S:
        edges = _local_midnights(int(hours.start[0]), int(hours.start[-1]), timezone)
        starts = edges[np.searchsorted(edges, hours.start, side="right") - 1]
    else:
        since = hours.start - binary_copy.PG_EPOCH_S
        starts = since - since % bucket_s + binary_copy.PG_EPOCH_S
    runs = np.flatnonzero(np.concatenate(([True], starts[1:] != starts[:-1])))
    count = np.add.reduceat(hours.count, runs)
    return BucketColumns(
        starts[runs],
        np.add.reduceat(hours.avg * hours.count, runs) / count,
        np.minimum.reduceat(hours.min, runs),
        np.maximum.reduceat(hours.max, runs),
        count,
    )


def _local_midnights(first: int, last: int, timezone: str) -> npt.NDArray[np.int64]:
    """Unix seconds of each local midnight of `timezone` from the day of `first` to the day of
    `last`. A midnight that a DST change skips counts as the standard-time instant, as in
    PostgreSQL's date_trunc('day', ts, zone)."""
    zone = ZoneInfo(timezone)
    day = datetime.fromtimestamp(first, zone).date()
    last_day = datetime.fromtimestamp(last, zone).date()
    midnights = []
    while day <= last_day:
        midnights.append(int(datetime.combine(day, time(), zone).timestamp()))
        day += timedelta(days=1)
    return np.array(midnights, dtype=np.int64)


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
