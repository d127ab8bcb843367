"""`courtyard ingest` is two processes (ingest/worker.py): they live and die together.

The receiving process killed: its writer process goes with it (nothing left writing for a
session nobody acknowledges). The writer process killed or failing: the worker exits non-zero
instead of receiving what it can no longer store. SIGTERM: both stop. That nothing is lost or
doubled across such kills is test_crash.py's part.
"""

from __future__ import annotations

import signal
from pathlib import Path

import psutil
import psycopg
import pytest

from courtyard.embedded import EmbeddedMosquitto
from tests.support.mqtt import Publisher
from tests.support.processes import CourtyardProcess, courtyard_env, gone
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

TELEMETRY = "courtyard/v1/pair-court/tank-1/telemetry"


def started(tmp_path: Path, database_url: str, broker_url: str, name: str) -> CourtyardProcess:
    env = courtyard_env(
        database_url=database_url, mqtt_url=broker_url, ingest__client_id=name, log_level="INFO"
    )
    worker = CourtyardProcess(["ingest"], env, tmp_path, name)
    worker.start()
    wait_for(lambda: "subscribed to" in worker.log(), timeout_s=30, what="subscription")
    return worker


def writer_of(worker: CourtyardProcess) -> psutil.Process:
    children = psutil.Process(worker.pid).children()
    assert len(children) == 1, children
    return children[0]


def test_the_writer_process_dies_with_a_sigkilled_worker(
    tmp_path: Path, database_url: str, fresh_broker: EmbeddedMosquitto
) -> None:
    worker = started(tmp_path, database_url, fresh_broker.url, "pair-killed")
    writer = writer_of(worker)
    store_one_reading(fresh_broker.url, database_url)  # the writer is up and writing
    worker.kill()
    wait_for(lambda: gone(writer), timeout_s=10, what="the orphaned writer process to end")


def test_sigterm_stops_both_processes(
    tmp_path: Path, database_url: str, fresh_broker: EmbeddedMosquitto
) -> None:
    worker = started(tmp_path, database_url, fresh_broker.url, "pair-stopped")
    writer = writer_of(worker)
    store_one_reading(fresh_broker.url, database_url)
    assert worker.terminate() == 0, worker.log()[-3000:]
    assert gone(writer)
    assert "ingest stopped: 1 messages received, 1 readings stored" in worker.log()


def test_a_killed_writer_process_stops_the_worker_with_an_error(
    tmp_path: Path, database_url: str, fresh_broker: EmbeddedMosquitto
) -> None:
    worker = started(tmp_path, database_url, fresh_broker.url, "pair-writer-killed")
    store_one_reading(fresh_broker.url, database_url)
    writer_of(worker).send_signal(signal.SIGKILL)
    assert worker.wait(timeout_s=30) == 1, worker.log()[-3000:]
    assert "the writer process ended unexpectedly" in worker.log()


def test_a_deployment_error_in_the_writer_stops_the_worker_with_an_error(
    tmp_path: Path, database_url: str, fresh_broker: EmbeddedMosquitto
) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("ALTER TABLE readings RENAME TO readings_elsewhere")
    worker = started(tmp_path, database_url, fresh_broker.url, "pair-misdeployed")
    writer = writer_of(worker)
    with Publisher(fresh_broker.url) as publisher:
        publisher.publish(TELEMETRY, b'{"readings": {"level_pct": 1}}')
        publisher.flush()
    assert worker.wait(timeout_s=30) == 1, worker.log()[-3000:]
    assert gone(writer)
    assert "ingest writer stopped on an error it cannot handle" in worker.log()


def store_one_reading(broker_url: str, database_url: str) -> None:
    with Publisher(broker_url) as publisher:
        publisher.publish(TELEMETRY, b'{"readings": {"level_pct": 1}}')
        publisher.flush()
    wait_for(lambda: stored(database_url) == 1, timeout_s=20, what="the reading")


def stored(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM readings").fetchone()
    return int(row[0]) if row else 0
