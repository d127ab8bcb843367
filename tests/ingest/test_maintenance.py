"""Store maintenance (ingest.maintenance): the job family's schedule, the jobs run by the real
scheduler against a real database, and a failing run that is only logged. The late-hours
refresh on TimescaleDB has its own test, tests/store/test_late_hours.py."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from courtyard.ports import free_port
from ingest import maintenance
from rules.settings import RulesSettings
from store.readings import feed
from store.readings.writer import BatchWriter
from store.records import Message, Reading
from store.settings import StoreSettings
from tests.support.waiting import wait_for

T0 = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def test_the_family_has_stable_ids_its_intervals_and_runs_one_at_a_time() -> None:
    store = StoreSettings(url="postgresql://courtyard@127.0.0.1:5432/courtyard")
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.start(paused=True)  # jobs are stored, none runs
    try:
        maintenance.schedule(scheduler, store, T0)
        maintenance.schedule(scheduler, store, T0)  # a second time replaces, never doubles
        jobs = {job.id: job for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=False)
    assert {id_: job.trigger.interval for id_, job in jobs.items()} == {
        "store-maintenance:late-hours": timedelta(minutes=5),
        "store-maintenance:retention": timedelta(hours=1),
        "store-maintenance:feed": timedelta(seconds=15),
        "store-maintenance:packs": timedelta(hours=1),
    }
    for job in jobs.values():
        assert job.next_run_time == T0  # the first run: soon after start, not an interval later
        assert (job.coalesce, job.max_instances) == (True, 1)
        assert job.misfire_grace_time == job.trigger.interval.total_seconds()
        assert job.func is maintenance.run_logged
        assert (job.args[0].id, job.args[1]) == (job.id, store)
    # Only this family prunes the feed: at least as often as a rules engine refreshes.
    feed_interval = jobs["store-maintenance:feed"].trigger.interval
    assert feed_interval <= timedelta(seconds=RulesSettings().refresh_s)


def _reject(conn: psycopg.Connection, at: datetime) -> None:
    conn.execute(
        "INSERT INTO rejected_messages (received_at, topic, payload_prefix, payload_size,"
        " reason, fingerprint) VALUES (%s, 't', '', 0, 'bad', '\\x00')",
        (at,),
    )


def _count(conn: psycopg.Connection, table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
    assert row is not None
    return int(row[0])


def test_the_scheduled_jobs_prune_the_feed_and_past_retention_and_pack_closed_weeks(
    database_url: str,
) -> None:
    store = StoreSettings(url=database_url, retention_days=30)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO sites (id, timezone) VALUES ('court', 'UTC')")
        # Three weeks of hourly readings that ended a week ago: closed weeks to pack.
        start = NOW - timedelta(days=28)
        readings = tuple(
            Reading("court", "tank-1", "level_pct", start + timedelta(hours=h), float(h % 50))
            for h in range(21 * 24)
        )
        BatchWriter().write(conn, [Message(received_at=NOW, readings=readings)])
        # Hours noted for the late-hours refresh would have their packs dropped for repacking
        # whenever that job comes after packing: the refresh is test_late_hours.py's to test.
        conn.execute("DELETE FROM readings_hourly_late")
        # The batch is in the feed, and the only engine has passed it.
        feed.cursors(conn, ["court"])
        feed.advance(conn, ["court"], feed.latest_id(conn))
        _reject(conn, NOW - timedelta(days=40))
        _reject(conn, NOW - timedelta(days=20))
        assert _count(conn, "batch_feed") == 1

        before = set(threading.enumerate())
        jobs = maintenance.StoreMaintenance(store, first_run_s=0)
        jobs.start()
        try:
            wait_for(
                lambda: (
                    _count(conn, "batch_feed") == 0
                    and _count(conn, "rejected_messages") == 1
                    and _count(conn, "readings_hourly_packs") >= 2
                ),
                timeout_s=30,
                what="the feed pruned, the old reject dropped and closed weeks packed",
            )
        finally:
            jobs.stop()
        assert [t.name for t in set(threading.enumerate()) - before if t.is_alive()] == []
        assert _count(conn, "readings_hourly_packs_todo") == 0


def test_a_failed_run_is_logged_and_raises_nothing(caplog: pytest.LogCaptureFixture) -> None:
    nowhere = StoreSettings(
        url=f"postgresql://courtyard@127.0.0.1:{free_port()}/courtyard", connect_timeout_s=1
    )
    with caplog.at_level(logging.WARNING, logger="ingest.maintenance"):
        maintenance.run_logged(maintenance.FEED, nowhere)
    (record,) = caplog.records
    assert record.getMessage().startswith("store maintenance failed: store-maintenance:feed (")
    with pytest.raises(psycopg.OperationalError):
        maintenance.FEED.run(nowhere)
