"""Late readings reach the hourly rollup whatever their age: a day of live readings and five
days that arrive ten days late, after TimescaleDB's own refresh job ran, and more readings into
hours already materialized outside its window. On plain PostgreSQL the writer keeps the rollup
itself; on TimescaleDB store maintenance refreshes the hours the writer noted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.rows import TupleRow

from ingest import maintenance
from store.backend import Backend, backend_of
from store.readings.writer import BatchWriter
from store.records import Message, Reading
from store.settings import StoreSettings

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def _message(start: datetime, hours: int, *, minute: int = 0) -> Message:
    """Readings at `minute` and `minute` + 30 of each hour from `start`, varying by hour."""
    readings = tuple(
        Reading("court", "tank-1", "level_pct", start + timedelta(hours=h, minutes=m), h % 17 + m)
        for h in range(hours)
        for m in (minute, minute + 30)
    )
    return Message(received_at=datetime.now(UTC), readings=readings)


def _run_refresh_policy(conn: psycopg.Connection[TupleRow]) -> None:
    """TimescaleDB's refresh policy job, run now (what its scheduler does every 15 minutes)."""
    if backend_of(conn) is not Backend.TIMESCALEDB:
        return
    (job,) = conn.execute(
        "SELECT job_id FROM timescaledb_information.jobs"
        " WHERE proc_name = 'policy_refresh_continuous_aggregate'"
    ).fetchall()
    conn.execute("CALL run_job(%s)", (job[0],))


def _hours(conn: psycopg.Connection[TupleRow], source: str) -> dict[datetime, tuple[int, float]]:
    if source == "rollup":
        query = "SELECT bucket, sample_count, max_value FROM readings_hourly"
    else:
        query = (
            "SELECT date_bin('1 hour', ts, TIMESTAMPTZ '2000-01-01 00:00:00+00'), count(*),"
            " max(value) FROM readings GROUP BY 1"
        )
    return {bucket: (int(n), float(top)) for bucket, n, top in conn.execute(query)}


def test_every_hour_reaches_the_rollup_after_the_refresh_job(database_url: str) -> None:
    store = StoreSettings(url=database_url)
    writer = BatchWriter(feed_enabled=False)
    late_start = NOW - timedelta(days=15)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO sites (id, timezone) VALUES ('court', 'UTC')")
        writer.write(conn, [_message(NOW - timedelta(days=1), 24)])
        _run_refresh_policy(conn)  # the live day is materialized
        writer.write(conn, [_message(late_start, 5 * 24)])
        _run_refresh_policy(conn)
        maintenance.LATE_HOURS.run(store)
        stored = _hours(conn, "readings")
        assert len(stored) == 6 * 24
        assert _hours(conn, "rollup") == stored

        # More readings into late hours that are materialized by now, outside the policy window.
        writer.write(conn, [_message(late_start, 2 * 24, minute=10)])
        _run_refresh_policy(conn)
        maintenance.LATE_HOURS.run(store)
        stored = _hours(conn, "readings")
        assert stored[late_start] == (4, 40.0)
        assert _hours(conn, "rollup") == stored
        assert conn.execute("SELECT count(*) FROM readings_hourly_late").fetchone() == (0,)
