"""Nothing lost, nothing doubled: ingest SIGKILLed, PostgreSQL and Mosquitto restarted mid-load.

Each test publishes 50,000 QoS 1 messages (one reading each, a unique (device, ts) and value)
at a steady rate while it breaks something, then checks that the store holds exactly those
readings: every value once, and the hourly rollup counting each reading once.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from courtyard.embedded import EmbeddedMosquitto, EmbeddedPostgres
from ingest import wire
from store.readings import late_hours
from tests.support.mqtt import Publisher
from tests.support.processes import CourtyardProcess, courtyard_env
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

TOTAL = 50_000
DEVICES = 100
RATE_PER_S = 5_000  # publishing lasts ~10 s, so the faults land while messages are in flight
SITE = "crash-court"
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def load_message(i: int) -> tuple[str, bytes]:
    ts = T0 + timedelta(seconds=i // DEVICES)
    return (
        wire.topic(SITE, f"dev-{i % DEVICES}", wire.Channel.TELEMETRY),
        wire.encode_telemetry(ts, {"seq": float(i)}),
    )


class Load:
    """Publishes the 50,000 messages from a thread, flushing (waiting for PUBACKs) as it goes."""

    def __init__(self, broker_url: str) -> None:
        self._publisher = Publisher(broker_url, client_id="crash-load", max_inflight=500)
        self._thread = threading.Thread(target=self._run, name="load", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            started = time.monotonic()
            for i in range(TOTAL):
                self._publisher.publish(*load_message(i))
                if i % 10_000 == 9_999:
                    self._publisher.flush(timeout_s=120)
                lag = i / RATE_PER_S - (time.monotonic() - started)
                if lag > 0:
                    time.sleep(lag)
            self._publisher.flush(timeout_s=120)
        except BaseException as exc:
            self.error = exc

    def join(self) -> None:
        self._thread.join(300)
        self._publisher.close()
        if self.error is not None:
            raise self.error


def stored(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM readings").fetchone()
    return int(row[0]) if row else 0


def wait_stored(database_url: str, at_least: int, timeout_s: float = 120) -> None:
    counts: list[int] = []

    def enough() -> bool:
        counts.append(_stored_or_zero(database_url))
        return counts[-1] >= at_least

    try:
        wait_for(enough, timeout_s=timeout_s, interval_s=0.1, what="readings")
    except AssertionError:
        raise AssertionError(f"only {counts[-1]} of {at_least} readings stored") from None


def _stored_or_zero(database_url: str) -> int:
    try:
        return stored(database_url)
    except psycopg.OperationalError:
        return 0  # the server is restarting


def assert_exactly_the_load(database_url: str) -> None:
    wait_stored(database_url, TOTAL, timeout_s=180)
    # TimescaleDB: these readings are days old, behind the aggregate's refresh policy; store
    # maintenance brings their hours into the rollup every few minutes: do it now.
    with psycopg.connect(database_url, autocommit=True) as conn:
        late_hours.refresh(conn, retention_days=365)
    with psycopg.connect(database_url) as conn:
        count, distinct, total = conn.execute(
            "SELECT count(*), count(DISTINCT value), sum(value) FROM readings_named "
            "WHERE site = %s AND metric = 'seq'",
            (SITE,),
        ).fetchone() or (0, 0, 0)
        rolled_up = conn.execute("SELECT sum(sample_count) FROM readings_hourly").fetchone()
    assert (count, distinct) == (TOTAL, TOTAL)
    assert total == sum(range(TOTAL))
    assert rolled_up is not None and int(rolled_up[0]) == TOTAL


def ingest_process(
    tmp_path: Path, database_url: str, broker_url: str, client_id: str, share_group: str = ""
) -> CourtyardProcess:
    env = courtyard_env(
        database_url=database_url,
        mqtt_url=broker_url,
        ingest__client_id=client_id,
        ingest__share_group=share_group,
        log_level="INFO",
    )
    return CourtyardProcess(["ingest"], env, tmp_path, client_id)


def start_subscribed(*workers: CourtyardProcess) -> None:
    """Start the workers and wait for their subscriptions: the broker drops what nobody hears."""
    for worker in workers:
        worker.start()
    for worker in workers:
        wait_for(lambda w=worker: "subscribed to" in w.log(), timeout_s=30, what="subscription")


def run_with_faults(
    database_url: str, broker: EmbeddedMosquitto, faults: list[tuple[int, Callable[[], None]]]
) -> None:
    """Publish the load; when `at` readings are stored, inject the fault; then check the store."""
    load = Load(broker.url)
    load.start()
    for at, fault in faults:
        wait_stored(database_url, at)
        fault()
    load.join()
    assert_exactly_the_load(database_url)


def kill_and_restart(process: CourtyardProcess) -> Callable[[], None]:
    def fault() -> None:
        process.kill()
        process.start()

    return fault


def test_sigkilled_twice_mid_load(
    tmp_path: Path, database_url: str, fresh_broker: EmbeddedMosquitto
) -> None:
    worker = ingest_process(tmp_path, database_url, fresh_broker.url, "crash-worker")
    start_subscribed(worker)
    try:
        run_with_faults(
            database_url,
            fresh_broker,
            [(10_000, kill_and_restart(worker)), (30_000, kill_and_restart(worker))],
        )
    finally:
        worker.terminate()
    assert worker.starts == 3


def test_postgresql_restart_mid_load(
    tmp_path: Path,
    database_url: str,
    fresh_broker: EmbeddedMosquitto,
    pg_server: EmbeddedPostgres | None,
) -> None:
    if pg_server is None:
        pytest.skip(
            "the database server is external (COURTYARD_TEST_DATABASE_URL): not ours to restart"
        )
    worker = ingest_process(tmp_path, database_url, fresh_broker.url, "pg-restart-worker")
    start_subscribed(worker)
    try:
        run_with_faults(database_url, fresh_broker, [(15_000, pg_server.restart)])
        assert worker.running, "a database outage must not stop the worker"
    finally:
        worker.terminate()
    assert "database unavailable" in worker.log()


def test_mosquitto_restart_mid_load(
    tmp_path: Path, database_url: str, fresh_broker: EmbeddedMosquitto
) -> None:
    if not fresh_broker.persistent:
        pytest.skip("the fallback broker (iotcore) keeps sessions in memory: install mosquitto")
    worker = ingest_process(tmp_path, database_url, fresh_broker.url, "broker-restart-worker")
    start_subscribed(worker)
    try:
        run_with_faults(database_url, fresh_broker, [(15_000, fresh_broker.restart)])
        assert worker.running
    finally:
        worker.terminate()
    assert "lost the broker connection" in worker.log()


def test_two_workers_share_the_load_and_survive_one_being_killed(
    tmp_path: Path, database_url: str, fresh_broker: EmbeddedMosquitto
) -> None:
    steady = ingest_process(tmp_path, database_url, fresh_broker.url, "shared-worker-a", "crash")
    victim = ingest_process(tmp_path, database_url, fresh_broker.url, "shared-worker-b", "crash")
    start_subscribed(steady, victim)
    try:
        run_with_faults(
            database_url,
            fresh_broker,
            [(10_000, kill_and_restart(victim)), (30_000, kill_and_restart(victim))],
        )
    finally:
        assert steady.terminate() == 0
        victim.terminate()
    closing = re.findall(
        r"ingest stopped: (\d+) messages received, (\d+) readings stored", steady.log()
    )
    assert closing, steady.log()[-2000:]
    steady_share = int(closing[-1][1])
    assert 0 < steady_share < TOTAL, f"the steady worker stored {steady_share} of {TOTAL}"
