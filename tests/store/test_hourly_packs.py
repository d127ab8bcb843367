"""Packed weeks of the hourly rollup (store.readings.hourly_packs): a chart read through the packs
is the chart of the rollup itself, before and after packing, across late writes, a forgotten window
and a late write racing a pack."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import TupleRow

from store.access.visibility import Visibility
from store.readings import charts, hourly_packs
from store.readings.writer import BatchWriter
from store.records import Message, Reading

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
#: Six weeks of history: five closed periods or so, and the last days still open.
FIRST = NOW - timedelta(days=42)


def _readings(start: datetime, hours: int, *, step_min: int = 30, offset: float = 0.0) -> Message:
    """One reading every `step_min` minutes for `hours` hours; values vary within each hour."""
    readings = tuple(
        Reading(
            "court",
            "tank-1",
            "level_pct",
            start + timedelta(minutes=m),
            offset + 50 + (m % 97) / 7 + (m // 60) % 13,
        )
        for m in range(0, hours * 60, step_min)
    )
    return Message(received_at=NOW, readings=readings)


@pytest.fixture
def device(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO sites (id, timezone) VALUES ('court', 'Asia/Shanghai')")
        BatchWriter().write(conn, [_readings(FIRST, 42 * 24 - 1)])
        row = conn.execute("SELECT id FROM devices WHERE device_key = 'tank-1'").fetchone()
    assert row is not None
    return int(row[0])


def _chart(url: str, device: int, start: datetime, end: datetime) -> charts.BucketColumns:
    async def read() -> charts.Chart | None:
        conn: psycopg.AsyncConnection[TupleRow]
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            return await charts.chart(
                conn, Visibility.everything(), device, "level_pct", start, end, 3600
            )

    chart = asyncio.run(read())
    assert chart is not None
    return chart.columns


def _rollup(url: str, start: datetime, end: datetime) -> list[tuple[int, float, float, float, int]]:
    """The hourly rollup itself, by plain SQL: what every chart must show."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """
            SELECT extract(epoch FROM bucket)::bigint, avg_value, min_value, max_value,
                   sample_count
            FROM readings_hourly
            WHERE bucket >= date_trunc('hour', %s::timestamptz) AND bucket < %s ORDER BY bucket
            """,
            (start, end),
        ).fetchall()
    return [(int(t), float(a), float(lo), float(hi), int(n)) for t, a, lo, hi, n in rows]


def _as_rows(columns: charts.BucketColumns) -> list[tuple[int, float, float, float, int]]:
    return list(
        zip(
            columns.start.tolist(),
            columns.avg.tolist(),
            columns.min.tolist(),
            columns.max.tolist(),
            columns.count.tolist(),
            strict=True,
        )
    )


def _packs(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM readings_hourly_packs").fetchone()
    assert row is not None
    return int(row[0])


def _pack(url: str) -> int:
    with psycopg.connect(url) as conn:
        return hourly_packs.pack(conn)


#: The start of a period in the data's second week.
BORDER = hourly_packs.ORIGIN + ((FIRST - hourly_packs.ORIGIN) // hourly_packs.PERIOD + 2) * (
    hourly_packs.PERIOD
)
#: Ranges that start and end inside packed periods, at their borders, and past the last pack.
RANGES = [
    (FIRST - timedelta(days=1), NOW + timedelta(hours=1)),
    (FIRST + timedelta(days=9, hours=5, minutes=30), NOW - timedelta(days=12, hours=3)),
    (BORDER, BORDER + 2 * hourly_packs.PERIOD),
    (NOW - timedelta(days=20), NOW - timedelta(days=19)),
]


def test_charts_read_through_packs_equal_the_rollup(database_url: str, device: int) -> None:
    before = [_as_rows(_chart(database_url, device, s, e)) for s, e in RANGES]
    assert _pack(database_url) >= 4
    assert _packs(database_url) >= 4
    assert _pack(database_url) == 0  # all closed periods are packed already
    for (start, end), unpacked in zip(RANGES, before, strict=True):
        assert _as_rows(_chart(database_url, device, start, end)) == unpacked
        assert unpacked == _rollup(database_url, start, end)
    assert len(before[0]) == 42 * 24 - 1


def test_nothing_to_pack_without_a_rollup(database_url: str) -> None:
    assert _pack(database_url) == 0
    assert _packs(database_url) == 0


def test_late_readings_in_a_packed_week_reach_the_chart(database_url: str, device: int) -> None:
    _pack(database_url)
    late_start = FIRST + timedelta(days=8, minutes=7)
    with psycopg.connect(database_url) as conn:
        # Readings at new minutes of old hours: the rollup's counts, sums and extremes change.
        BatchWriter().write(conn, [_readings(late_start, 30, step_min=45, offset=40.0)])
    start, end = RANGES[0]
    assert _as_rows(_chart(database_url, device, start, end)) == _rollup(database_url, start, end)
    changed = _chart(database_url, device, late_start, late_start + timedelta(hours=2))
    assert changed.max.tolist()[0] > 90  # the late readings, not the pack as it was


def test_forget_drops_a_window_of_packs_and_pack_redoes_them(
    database_url: str, device: int
) -> None:
    _pack(database_url)
    packed = _packs(database_url)
    window = (FIRST + timedelta(days=10), FIRST + timedelta(days=12))
    with psycopg.connect(database_url) as conn:
        queued = hourly_packs.forget(conn, *window)
    assert 1 <= queued <= 2
    assert _packs(database_url) == packed - queued
    start, end = RANGES[0]
    assert _as_rows(_chart(database_url, device, start, end)) == _rollup(database_url, start, end)
    assert _pack(database_url) == queued
    assert _packs(database_url) == packed
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM readings_hourly_packs_todo").fetchone() == (0,)


def test_a_late_write_during_a_pack_waits_for_it_and_repacks(
    database_url: str, device: int
) -> None:
    """The race the lock prevents: a late batch commits between a pack's read of the rollup and
    the pack's commit. The writer must wait, then repack over the fresh pack."""
    _pack(database_url)
    late_start = FIRST + timedelta(days=15, minutes=11)
    with psycopg.connect(database_url, autocommit=True) as conn:
        period = conn.execute(
            f"SELECT {hourly_packs.period_of('%s::timestamptz')}", (late_start,)
        ).fetchone()
        assert period is not None
        conn.execute("DELETE FROM readings_hourly_packs WHERE period = %s", (period[0],))
        conn.execute("INSERT INTO readings_hourly_packs_todo VALUES (%s)", (period[0],))

    packer = psycopg.connect(database_url)
    writer_pid: list[int] = []
    failures: list[BaseException] = []

    def write_late() -> None:
        try:
            with psycopg.connect(database_url) as conn:
                writer_pid.append(conn.info.backend_pid)
                BatchWriter().write(conn, [_readings(late_start, 5, step_min=40, offset=40.0)])
        except BaseException as exc:  # reported by the test thread
            failures.append(exc)

    try:
        with packer.transaction():
            packer.execute(hourly_packs._LOCK)
            assert hourly_packs._next_period(packer) == period[0]
            writer = threading.Thread(target=write_late)
            writer.start()
            _wait_for_lock_wait(database_url, writer_pid)
            packer.execute(hourly_packs._PACK_PERIOD, {"period": period[0]})
        writer.join(30)
    finally:
        packer.close()
    assert not failures and not writer.is_alive()
    start, end = RANGES[0]
    assert _as_rows(_chart(database_url, device, start, end)) == _rollup(database_url, start, end)


def _wait_for_lock_wait(url: str, pid: list[int]) -> None:
    deadline = time.monotonic() + 30
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            if pid:
                row = conn.execute(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid[0],)
                ).fetchone()
                if row is not None and row[0] == "Lock":
                    return
            time.sleep(0.05)
    raise AssertionError("the late writer never waited for the packer's lock")
