"""Stopping in a database outage: the worker exits promptly and the broker keeps every message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from courtyard.embedded import EmbeddedMosquitto, EmbeddedPostgres
from ingest import wire
from store import migrate
from tests.support.mqtt import Publisher
from tests.support.processes import CourtyardProcess, courtyard_env
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

MESSAGES = 20_000
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def worker(tmp_path: Path, database_url: str, broker_url: str, name: str) -> CourtyardProcess:
    env = courtyard_env(
        database_url=database_url,
        mqtt_url=broker_url,
        ingest__client_id="outage-worker",
        ingest__max_undelivered="200",  # far fewer than the backlog: the inbox fills up
        ingest__batch_max_messages="100",
        log_level="INFO",
    )
    return CourtyardProcess(["ingest"], env, tmp_path, name)


def stored(database_url: str) -> int:
    try:
        with psycopg.connect(database_url) as conn:
            row = conn.execute("SELECT count(*) FROM readings").fetchone()
    except psycopg.OperationalError:
        return 0
    return int(row[0]) if row else 0


def test_sigterm_with_a_full_inbox_and_no_database_exits_and_loses_nothing(
    tmp_path: Path, server_dir: Path, fresh_broker: EmbeddedMosquitto
) -> None:
    # A private server: this test takes it down.
    with EmbeddedPostgres(server_dir / "pg") as postgres:
        database_url = postgres.url
        migrate.run(database_url)
        stranded = worker(tmp_path, database_url, fresh_broker.url, "stranded")
        stranded.start()
        wait_for(lambda: "subscribed to" in stranded.log(), timeout_s=30, what="subscription")
        with Publisher(fresh_broker.url) as publisher:
            for i in range(MESSAGES):
                publisher.publish(
                    wire.topic("outage-court", f"tank-{i % 50}", wire.Channel.TELEMETRY),
                    wire.encode_telemetry(T0 + timedelta(seconds=i), {"level_pct": 50.0}),
                )
            publisher.flush()
            # Once acknowledgements flow, the broker sends far more than the inbox holds.
            wait_for(lambda: stored(database_url) > 1_000, timeout_s=60, what="some stored")
            postgres.kill()
            wait_for(lambda: "database unavailable" in stranded.log(), timeout_s=30, what="outage")

            assert stranded.terminate(timeout_s=20) == 0, stranded.log()[-3000:]

            postgres.start()
            recovered = worker(tmp_path, database_url, fresh_broker.url, "recovered")
            recovered.start()
            try:
                wait_for(
                    lambda: stored(database_url) == MESSAGES,
                    timeout_s=120,
                    what=f"all {MESSAGES} readings after the restart",
                )
            finally:
                recovered.terminate()


def test_sigterm_while_a_backlog_floods_in_exits_promptly_and_loses_nothing(
    tmp_path: Path, database_url: str, fresh_broker: EmbeddedMosquitto
) -> None:
    # Acknowledgements make Mosquitto send far more than the inbox holds: at stop, the network
    # thread is waiting for room that the stopped writer will never make.
    draining = worker(tmp_path, database_url, fresh_broker.url, "draining")
    draining.start()  # once, to create its persistent session; the backlog queues there
    wait_for(lambda: "subscribed to" in draining.log(), timeout_s=30, what="subscription")
    assert draining.terminate() == 0
    with Publisher(fresh_broker.url) as publisher:
        for i in range(MESSAGES):
            publisher.publish(
                wire.topic("flood-court", f"tank-{i % 50}", wire.Channel.TELEMETRY),
                wire.encode_telemetry(T0 + timedelta(seconds=i), {"level_pct": 50.0}),
            )
        publisher.flush()
    draining.start()
    wait_for(lambda: stored(database_url) > 1_000, timeout_s=60, what="some stored")

    assert draining.terminate(timeout_s=20) == 0, draining.log()[-3000:]
    assert stored(database_url) < MESSAGES, "stopped too late to test anything"

    recovered = worker(tmp_path, database_url, fresh_broker.url, "recovered")
    recovered.start()
    try:
        wait_for(lambda: stored(database_url) == MESSAGES, timeout_s=120, what="every reading")
    finally:
        recovered.terminate()
