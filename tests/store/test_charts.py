"""Chart buckets (store.readings.charts.buckets) from readings stored by the writer: the columns
come back as binary arrays decoded by numpy, so check every column, and its dtype and layout,
against sums by hand."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
import pytest
from psycopg.rows import TupleRow

from store.access.visibility import Visibility
from store.readings import charts, hourly_packs
from store.readings.writer import BatchWriter
from store.records import Message, Reading

# 15:00 UTC: 23:00 in Shanghai, so the second hour of readings is the next local day.
T0 = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
ZONE = "Asia/Shanghai"


def _epoch(t: datetime) -> int:
    return int(t.timestamp())


@pytest.fixture
def series(database_url: str) -> int:
    """One series: 10, 20, 30 in the first hour (every 20 min), 40, 60 in the second."""
    values = [(0, 10.0), (20, 20.0), (40, 30.0), (60, 40.0), (80, 60.0)]
    message = Message(
        received_at=T0,
        readings=tuple(
            Reading("court", "tank-1", "level_pct", T0 + timedelta(minutes=m), v) for m, v in values
        ),
    )
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO sites (id, timezone) VALUES ('court', %s)", (ZONE,))
        BatchWriter().write(conn, [message])
        row = conn.execute("SELECT id FROM series WHERE metric = 'level_pct'").fetchone()
    assert row is not None
    return int(row[0])


@dataclass(frozen=True)
class Columns:
    start: list[int]
    avg: list[float]
    min: list[float]
    max: list[float]
    count: list[int]


def _plain(got: charts.BucketColumns) -> Columns:
    for column in (got.start, got.avg, got.min, got.max, got.count):
        # What orjson's OPT_SERIALIZE_NUMPY accepts.
        assert column.flags.c_contiguous and column.dtype.isnative
    assert (got.start.dtype, got.count.dtype, got.avg.dtype) == tuple(
        np.dtype(t) for t in (np.int64, np.int64, np.float64)
    )
    return Columns(
        got.start.tolist(), got.avg.tolist(), got.min.tolist(), got.max.tolist(), got.count.tolist()
    )


def _buckets(
    url: str, series: int, start: datetime, end: datetime, bucket_s: int, zone: str = ZONE
) -> Columns:
    async def read() -> charts.BucketColumns:
        conn: psycopg.AsyncConnection[TupleRow]
        async with await psycopg.AsyncConnection.connect(url) as conn:
            return await charts.buckets(conn, series, start, end, bucket_s, zone)

    return _plain(asyncio.run(read()))


def test_hour_buckets_are_the_rollup_rows(database_url: str, series: int) -> None:
    got = _buckets(database_url, series, T0 - timedelta(days=365), T0 + timedelta(hours=3), 3600)
    assert got == Columns(
        start=[_epoch(T0), _epoch(T0 + timedelta(hours=1))],
        avg=[20.0, 50.0],
        min=[10.0, 40.0],
        max=[30.0, 60.0],
        count=[3, 2],
    )


def test_day_buckets_follow_the_site_zone_and_weight_the_average(
    database_url: str, series: int
) -> None:
    got = _buckets(database_url, series, T0 - timedelta(days=2), T0 + timedelta(days=2), 86400)
    local_midnight = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)  # 2026-11-29 00:00 in Shanghai
    assert got.start == [_epoch(local_midnight - timedelta(days=1)), _epoch(local_midnight)]
    assert (got.avg, got.min, got.max, got.count) == (
        [20.0, 50.0],
        [10.0, 40.0],
        [30.0, 60.0],
        [3, 2],
    )


def test_short_buckets_read_raw_readings_and_an_empty_range_is_empty(
    database_url: str, series: int
) -> None:
    got = _buckets(database_url, series, T0, T0 + timedelta(hours=2), 1800)
    assert got.start == [_epoch(T0 + timedelta(minutes=m)) for m in (0, 30, 60)]
    assert (got.avg, got.count) == ([15.0, 30.0, 50.0], [2, 1, 2])
    empty = _buckets(database_url, series, T0 + timedelta(days=1), T0 + timedelta(days=2), 3600)
    assert empty == Columns([], [], [], [], [])


def _chart(
    url: str, device_id: int, metric: str, bucket_s: int, visibility: Visibility | None = None
) -> tuple[str, str, Columns] | None:
    async def read() -> charts.Chart | None:
        conn: psycopg.AsyncConnection[TupleRow]
        async with await psycopg.AsyncConnection.connect(url) as conn:
            return await charts.chart(
                conn,
                visibility or Visibility.everything(),
                device_id,
                metric,
                T0 - timedelta(days=2),
                T0 + timedelta(days=2),
                bucket_s,
            )

    got = asyncio.run(read())
    return None if got is None else (got.device_key, got.timezone, _plain(got.columns))


def test_a_chart_checks_the_device_finds_the_series_and_the_site_zone_in_one_query(
    database_url: str, series: int
) -> None:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT device_id FROM series WHERE id = %s", (series,)).fetchone()
    assert row is not None
    device = int(row[0])
    by_day = _chart(database_url, device, "level_pct", 86400)
    assert by_day == (
        "tank-1",
        ZONE,
        _buckets(database_url, series, T0 - timedelta(days=2), T0 + timedelta(days=2), 86400),
    )
    assert by_day[2].count == [3, 2]  # the local days of Shanghai, not UTC's single day
    by_hour = _chart(database_url, device, "level_pct", 3600)
    assert by_hour is not None and by_hour[2].count == [3, 2]
    assert _chart(database_url, device, "no_such_metric", 3600) == (
        "tank-1",
        ZONE,
        Columns([], [], [], [], []),
    )
    elsewhere = Visibility(sites=frozenset({"another-court"}))
    assert _chart(database_url, device, "level_pct", 3600, elsewhere) is None
    assert _chart(database_url, device + 1000, "level_pct", 3600) is None


def _sql_buckets(url: str, bucket_s: int, zone: str) -> Columns:
    """Buckets of every hour of the rollup combined by PostgreSQL itself: the reference."""
    if bucket_s == 86400:
        bucket = "date_trunc('day', bucket, %(zone)s)"
    else:
        bucket = "date_bin(make_interval(secs => %(size)s), bucket, TIMESTAMPTZ '2000-01-01')"
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            f"""
            SELECT extract(epoch FROM {bucket})::bigint,
                   sum(avg_value * sample_count) / sum(sample_count), min(min_value),
                   max(max_value), sum(sample_count)::bigint
            FROM readings_hourly GROUP BY 1 ORDER BY 1
            """,
            {"zone": zone, "size": bucket_s},
        ).fetchall()
    return Columns(*(list(column) for column in zip(*rows, strict=True)))


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Asia/Kolkata", "America/Santiago"])
def test_long_buckets_combine_hours_as_postgresql_does_across_dst_and_packs(
    database_url: str, zone: str
) -> None:
    """Days across a DST change (Berlin's spring, Santiago's autumn), a half-hour offset
    (Kolkata) and six-hour spans, from rollup rows and then from packed weeks."""
    first = datetime(2026, 3, 27, tzinfo=UTC)
    readings = tuple(
        Reading("court", "tank-1", "level_pct", first + timedelta(minutes=m), 40 + (m * 7) % 31)
        for m in range(0, 10 * 24 * 60, 25)
    )
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO sites (id, timezone) VALUES ('court', %s)", (zone,))
        BatchWriter().write(conn, [Message(received_at=first, readings=readings)])
        row = conn.execute("SELECT id FROM series WHERE metric = 'level_pct'").fetchone()
    assert row is not None
    series = int(row[0])

    def check() -> None:
        for size in (86400, 21600):
            got = _buckets(database_url, series, first, first + timedelta(days=10), size, zone)
            want = _sql_buckets(database_url, size, zone)
            assert (got.start, got.min, got.max, got.count) == (
                want.start,
                want.min,
                want.max,
                want.count,
            )
            assert got.avg == pytest.approx(want.avg, rel=1e-12)

    check()
    with psycopg.connect(database_url) as conn:
        assert hourly_packs.pack(conn) >= 1
    check()
