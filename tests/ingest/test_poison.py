"""Poison messages over a real broker and database: each a reject, ingest alive, neighbours kept.

A poison message is one that decodes but cannot be stored: before the fix, an event whose attrs
nest 500 levels deep stopped the writer (orjson reads 1,024 levels but writes only 254), and the
broker redelivered it at every restart.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import orjson
import psycopg
from psycopg import sql

from ingest import metrics
from ingest.wire import format_timestamp
from tests.support.ingest import RunningIngest
from tests.support.mqtt import Publisher
from tests.support.waiting import wait_for

NOW = datetime.now(UTC)
TELEMETRY = "courtyard/v1/garden-court/tank-1/telemetry"
EVENT = "courtyard/v1/garden-court/gate-1/event"
NEIGHBOURS = 10


def deep_attrs_event(levels: int) -> bytes:
    """An event whose attrs nest `levels` objects deep (written by hand: orjson stops at 254)."""
    attrs = '{"a":' * levels + "1" + "}" * levels
    return b'{"type": "tamper", "attrs": ' + attrs.encode() + b"}"


def reading(i: int) -> bytes:
    ts = format_timestamp(NOW - timedelta(minutes=i))
    return orjson.dumps({"ts": ts, "readings": {"level_pct": float(i)}})


def publish_among_neighbours(publisher: Publisher, topic: str, payload: bytes) -> None:
    for i in range(NEIGHBOURS // 2):
        publisher.publish(TELEMETRY, reading(i))
    publisher.publish(topic, payload)
    for i in range(NEIGHBOURS // 2, NEIGHBOURS):
        publisher.publish(TELEMETRY, reading(i))
    publisher.flush()


def stored_values(ingest: RunningIngest) -> list[object]:
    return [v for (v,) in ingest.query("SELECT value FROM readings ORDER BY value")]


def test_attrs_500_levels_deep_are_a_reject_and_the_neighbours_are_stored(
    start_ingest: Callable[..., RunningIngest], publisher: Publisher
) -> None:
    # One batch for all: the poison shares its transaction with its neighbours.
    ingest = start_ingest(batch_max_age_s=1.0)
    publish_among_neighbours(publisher, EVENT, deep_attrs_event(500))

    ingest.wait_for_count("SELECT count(*) FROM rejected_messages", 1)
    ingest.wait_for_count("SELECT count(*) FROM readings", NEIGHBOURS)
    [(topic, reason)] = ingest.query("SELECT topic, reason FROM rejected_messages")
    assert topic == EVENT
    assert reason == '"attrs" nests deeper than 32 levels of objects and arrays'
    assert stored_values(ingest) == [float(i) for i in range(NEIGHBOURS)]
    assert ingest.query("SELECT count(*) FROM events") == [(0,)]
    assert ingest.service.failed is None


def test_what_the_writer_cannot_encode_is_a_reject_whatever_the_exception(
    start_ingest: Callable[..., RunningIngest], publisher: Publisher
) -> None:
    # With the decoder's bound raised out of the way, the writer's own TypeError (orjson cannot
    # write 300 levels) must still end as this one message's reject, not a stopped worker.
    ingest = start_ingest(batch_max_age_s=1.0, max_json_depth=1000)
    publish_among_neighbours(publisher, EVENT, deep_attrs_event(300))

    ingest.wait_for_count("SELECT count(*) FROM rejected_messages", 1)
    ingest.wait_for_count("SELECT count(*) FROM readings", NEIGHBOURS)
    [(topic, reason)] = ingest.query("SELECT topic, reason FROM rejected_messages")
    assert topic == EVENT
    assert reason == "it could not be stored: TypeError: Recursion limit reached"
    assert stored_values(ingest) == [float(i) for i in range(NEIGHBOURS)]
    assert ingest.service.failed is None


def execute(database_url: str, statement: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(statement.encode())


def retries() -> float:
    return float(metrics.WRITE_RETRIES._value.get())


def test_a_store_fault_is_waited_out_not_turned_into_rejects(
    start_ingest: Callable[..., RunningIngest], publisher: Publisher
) -> None:
    # A missing table is the deployment's fault, which no message can cause: nothing is rejected
    # or dropped for it, the worker waits for the fix (here: the table coming back) and goes on.
    ingest = start_ingest(retry_max_backoff_s=0.2)
    execute(ingest.database_url, "ALTER TABLE events RENAME TO events_away")
    before = retries()
    publish_among_neighbours(publisher, EVENT, b'{"type": "tamper"}')
    wait_for(lambda: retries() - before >= 3, timeout_s=20, what="retries")
    execute(ingest.database_url, "ALTER TABLE events_away RENAME TO events")

    ingest.wait_for_count("SELECT count(*) FROM readings", NEIGHBOURS)
    ingest.wait_for_count("SELECT count(*) FROM events", 1)
    assert ingest.query("SELECT count(*) FROM rejected_messages") == [(0,)]
    assert ingest.service.failed is None


def test_an_outage_met_while_isolating_a_poison_message_is_waited_out(
    start_ingest: Callable[..., RunningIngest],
    publisher: Publisher,
    postgres_url: str,
) -> None:
    # The poison fails the batch on the worker's connection; every try after that starts on a
    # new connection, which the database now refuses: an outage in the middle of the halving.
    # It must be retried, not taken for the fault of the messages tried at that moment.
    ingest = start_ingest(batch_max_age_s=1.0, max_json_depth=1000, retry_max_backoff_s=0.2)
    publisher.publish(TELEMETRY, reading(NEIGHBOURS))
    publisher.flush()
    ingest.wait_for_count("SELECT count(*) FROM readings", 1)  # the worker holds a connection
    database = sql.Identifier(urlsplit(ingest.database_url).path.lstrip("/"))
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(database))
        try:
            before = retries()
            publish_among_neighbours(publisher, EVENT, deep_attrs_event(300))
            wait_for(lambda: retries() - before >= 3, timeout_s=20, what="retries")
        finally:
            admin.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS true").format(database))

    ingest.wait_for_count("SELECT count(*) FROM readings", NEIGHBOURS + 1)
    ingest.wait_for_count("SELECT count(*) FROM rejected_messages", 1)
    assert ingest.query("SELECT topic, reason FROM rejected_messages") == [
        (EVENT, "it could not be stored: TypeError: Recursion limit reached")
    ]
    assert ingest.service.failed is None


def test_a_message_whose_reject_cannot_be_stored_either_is_dropped_loudly_not_held(
    start_ingest: Callable[..., RunningIngest], publisher: Publisher
) -> None:
    # The reject of this poison breaks a rule of the table: nothing is left to try. Holding the
    # message would hold up everything behind it for good, so it is acknowledged and counted.
    ingest = start_ingest(batch_max_age_s=1.0, max_json_depth=1000)
    execute(
        ingest.database_url,
        "ALTER TABLE rejected_messages ADD CONSTRAINT no_recursion CHECK (reason !~ 'Recursion')",
    )
    dropped_before = metrics.DROPPED._value.get()
    publish_among_neighbours(publisher, EVENT, deep_attrs_event(300))

    ingest.wait_for_count("SELECT count(*) FROM readings", NEIGHBOURS)
    wait_for(lambda: metrics.DROPPED._value.get() - dropped_before == 1, timeout_s=20, what="drop")
    assert ingest.query("SELECT count(*) FROM rejected_messages") == [(0,)]
    assert ingest.service.failed is None
