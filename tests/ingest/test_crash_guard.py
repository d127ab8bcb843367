"""Tests for ingest/crash_guard.py: sorting a batch by suspicion, and a real worker killed twice
on the same message, which the third start rejects without trying it again."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg
import pytest

from courtyard.embedded import EmbeddedMosquitto
from ingest.crash_guard import CONVICTED_REASON, CrashGuard, delivery
from ingest.inbound import Inbound
from ingest.wire import format_timestamp
from store.readings.in_flight import InFlight
from tests.support.mqtt import Publisher
from tests.support.processes import CourtyardProcess, courtyard_env
from tests.support.waiting import wait_for

NOW = datetime.now(UTC)
TELEMETRY = "courtyard/v1/guard-court/tank-1/telemetry"
EVENT = "courtyard/v1/guard-court/gate-1/event"


def inbound(topic: str, payload: bytes) -> Inbound:
    return Inbound(topic, payload, NOW)


A, B, C = (inbound(TELEMETRY, bytes([n])) for n in b"abc")


@pytest.mark.parametrize(
    ("last", "sorted_as"),
    [
        pytest.param(InFlight(frozenset(), alone=False), ("", "", "abc"), id="clean-stop"),
        pytest.param(
            InFlight(frozenset({delivery(B).fingerprint}), alone=False),
            ("", "b", "ac"),
            id="in-flight-in-a-batch",
        ),
        pytest.param(
            InFlight(frozenset({delivery(B).fingerprint}), alone=True),
            ("b", "", "ac"),
            id="in-flight-alone",
        ),
        pytest.param(
            InFlight(frozenset({delivery(A).fingerprint, delivery(C).fingerprint}), alone=False),
            ("", "ac", "b"),
            id="several-suspects-keep-their-order",
        ),
    ],
)
def test_sort(last: InFlight, sorted_as: tuple[str, str, str]) -> None:
    result = CrashGuard(last).sort(delivery(m) for m in (A, B, C))
    got = tuple(
        "".join(d.inbound.payload.decode() for d in part)
        for part in (result.convicted, result.suspects, result.ordinary)
    )
    assert got == sorted_as


def test_each_suspicion_is_used_once() -> None:
    guard = CrashGuard(InFlight(frozenset({delivery(B).fingerprint}), alone=True))
    assert guard.sort([delivery(B), delivery(B)]).convicted == (delivery(B),)
    assert guard.suspicious == 0
    assert guard.sort([delivery(B)]).ordinary == (delivery(B),)


def test_the_fingerprint_covers_topic_and_payload() -> None:
    fingerprints = {
        delivery(m).fingerprint
        for m in (A, inbound(EVENT, b"a"), inbound(TELEMETRY + "a", b""), inbound(TELEMETRY, b""))
    }
    assert len(fingerprints) == 4


def reading(minutes_ago: int) -> bytes:
    ts = format_timestamp(NOW - timedelta(minutes=minutes_ago))
    return orjson.dumps({"ts": ts, "readings": {"level_pct": float(minutes_ago)}})


EVENT_PAYLOAD = b'{"type": "tamper", "subject": "lid"}'


@contextmanager
def events_locked(database_url: str) -> Iterator[None]:
    """Hold a lock that stops every write to `events`: a worker storing the event hangs there,
    as a worker would be busy on a message that is about to kill it."""
    with psycopg.connect(database_url) as conn:
        conn.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
        yield
        conn.rollback()


def kill_while_storing(worker: CourtyardProcess, database_url: str) -> None:
    """Wait until the worker hangs on the locked table, then SIGKILL it (and end its session,
    which would otherwise hold its half-done transaction until the lock goes)."""
    query = (
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND application_name = 'courtyard-ingest' AND wait_event_type = 'Lock'"
    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        pids = wait_for(
            lambda: [pid for (pid,) in conn.execute(query).fetchall()],
            timeout_s=30,
            what="the worker to hang on the locked events table",
        )
        worker.kill()
        for pid in pids:
            conn.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))


def scalar(database_url: str, sql: str) -> object:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(sql.encode()).fetchone()
    return row[0] if row else None


def test_a_message_in_flight_at_two_deaths_is_rejected_without_a_third_try(
    tmp_path: Path, database_url: str, fresh_broker: EmbeddedMosquitto
) -> None:
    env = courtyard_env(
        database_url=database_url,
        mqtt_url=fresh_broker.url,
        ingest__client_id="guard-worker",
        ingest__batch_max_age_s="1.0",  # the three messages share a batch
        log_level="INFO",
    )
    worker = CourtyardProcess(["ingest"], env, tmp_path, "guard-worker")

    def start() -> None:
        worker.start()
        wait_for(lambda: "subscribed to" in worker.log(), timeout_s=30, what="subscription")

    readings = "SELECT count(*) FROM readings"
    try:
        with Publisher(fresh_broker.url) as publisher, events_locked(database_url):
            start()
            for topic, payload in [(TELEMETRY, reading(1)), (EVENT, EVENT_PAYLOAD)]:
                publisher.publish(topic, payload)
            publisher.publish(TELEMETRY, reading(2))
            publisher.flush()
            # First death: the event is in flight in a batch with both readings.
            kill_while_storing(worker, database_url)
            assert scalar(database_url, readings) == 0

            # Second start: the three come again, each alone; the first reading is stored before
            # the event hangs on its own, and then the worker dies again.
            start()
            kill_while_storing(worker, database_url)
            assert scalar(database_url, readings) == 1
            assert "storing courtyard/v1/guard-court/gate-1/event alone" in worker.log()

        # Third start, nothing locked any more: the event is not tried again but rejected, the
        # second reading and anything new are stored as usual.
        start()
        with Publisher(fresh_broker.url) as publisher:
            publisher.publish(TELEMETRY, reading(3))
            publisher.flush()
        wait_for(lambda: scalar(database_url, readings) == 3, timeout_s=30, what="3 readings")
        wait_for(
            lambda: scalar(database_url, "SELECT count(*) FROM rejected_messages") == 1,
            timeout_s=30,
            what="the reject",
        )
        assert scalar(database_url, "SELECT topic || ': ' || reason FROM rejected_messages") == (
            f"{EVENT}: {CONVICTED_REASON}"
        )
        assert scalar(database_url, "SELECT count(*) FROM events") == 0
        assert worker.running
    finally:
        if worker.running:
            worker.terminate()
    # A clean stop leaves no suspicion behind.
    assert scalar(database_url, "SELECT count(*) FROM ingest_in_flight") == 0
