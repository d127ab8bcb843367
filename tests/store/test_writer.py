"""BatchWriter: one transaction, idempotent writes, registry and hourly rollup kept right."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import TupleRow

from store.readings import feed
from store.readings.feed import FeedBatch
from store.readings.writer import BatchWriter, WriteResult
from store.records import (
    Alias,
    DeviceRef,
    Event,
    Message,
    Origin,
    Reading,
    Reject,
    StatusChange,
)
from tests.support.waiting import wait_for

T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


def readings_message(device: str, values: list[float], start: datetime = T0) -> Message:
    return Message(
        received_at=start,
        readings=tuple(
            Reading("court", device, "level_pct", start + timedelta(minutes=10 * i), v)
            for i, v in enumerate(values)
        ),
    )


def fed_last(conn: psycopg.Connection[TupleRow]) -> FeedBatch:
    """The newest batch of the committed-batch feed: what rules engines read of a write."""
    return feed.read_after(conn, feed.latest_id(conn) - 1, ["court"], 1)[0]


@pytest.fixture
def conn(database_url: str) -> psycopg.Connection[TupleRow]:
    with psycopg.connect(database_url) as connection:
        yield connection


def test_writing_twice_stores_once_and_rolls_up_once(conn: psycopg.Connection[TupleRow]) -> None:
    writer = BatchWriter()
    batch = [readings_message("tank-1", [10.0, 20.0, 60.0, 70.0, 80.0, 90.0, 30.0])]
    first = writer.write(conn, batch)
    again = BatchWriter().write(conn, batch)  # a fresh cache, as after a restart
    assert (first.readings_stored, again.readings_stored) == (7, 0)
    hourly = conn.execute(
        "SELECT bucket, sample_count, avg_value, min_value, max_value "
        "FROM readings_hourly ORDER BY bucket"
    ).fetchall()
    assert hourly == [
        (T0, 6, 55.0, 10.0, 90.0),
        (T0 + timedelta(hours=1), 1, 30.0, 30.0, 30.0),
    ]


def test_devices_register_on_first_message_and_last_seen_moves_forward(
    conn: psycopg.Connection[TupleRow],
) -> None:
    writer = BatchWriter()
    later = T0 + timedelta(minutes=5)
    writer.write(
        conn,
        [
            Message(received_at=later, kinds=((DeviceRef("court", "tank-1"), "water_tank"),)),
            readings_message("tank-1", [1.0]),
        ],
    )
    writer.write(conn, [readings_message("tank-1", [2.0], start=T0 - timedelta(days=1))])
    row = conn.execute(
        "SELECT site_id, device_key, kind, first_seen, last_seen FROM devices"
    ).fetchone()
    assert row == ("court", "tank-1", "water_tank", later, later)
    assert conn.execute("SELECT id FROM sites").fetchall() == [("court",)]


def test_events_statuses_aliases_and_rejects(conn: psycopg.Connection[TupleRow]) -> None:
    writer = BatchWriter()
    sos = Event("court", "sos-1", T0, "sos", None, {"button": "single"})
    offline = StatusChange("court", "sos-1", T0, online=False)
    message = Message(
        received_at=T0,
        events=(sos,),
        statuses=(offline,),
        aliases=(Alias("zigbee2mqtt:z2m", "卧室 SOS", "court", "sos-1"),),
        rejects=(Reject("courtyard/v1/x", b"{", "payload is not valid JSON", T0, 1),),
    )
    first = writer.write(conn, [message])
    second = writer.write(conn, [message])
    assert (first.events_stored, second.events_stored) == (1, 0)
    assert (first.statuses_applied, second.statuses_applied) == (1, 0)
    assert (first.rejects_stored, second.rejects_stored) == (1, 1)
    assert feed.latest_id(conn) == 1, "a write that changes nothing rules see is not fed"
    assert len(fed_last(conn).events) == 1 and fed_last(conn).statuses == (offline,)
    later = replace(sos, ts=T0 + timedelta(minutes=1))
    assert writer.write(conn, [Message(received_at=T0, events=(sos, later))]).events_stored == 1
    assert [e[1] for e in fed_last(conn).events] == [later.ts.timestamp()], (
        "a redelivered event is fed once"
    )
    redelivered = Reject("courtyard/v1/x", b"{", "payload is not valid JSON", T0, 1, True)
    third = writer.write(conn, [Message(received_at=T0, rejects=(redelivered,))])
    assert third.rejects_stored == 0, "a broker redelivery of a stored reject is not stored again"
    assert conn.execute("SELECT name FROM device_aliases").fetchall() == [("卧室 SOS",)]
    assert conn.execute("SELECT attrs FROM events").fetchone() == ({"button": "single"},)
    assert conn.execute("SELECT online FROM devices").fetchone() == (False,)


def test_an_older_status_never_overrides_a_newer_one(conn: psycopg.Connection[TupleRow]) -> None:
    writer = BatchWriter()
    newer = StatusChange("court", "gate-1", T0, online=True)
    older = StatusChange("court", "gate-1", T0 - timedelta(minutes=1), online=False)
    writer.write(conn, [Message(received_at=T0, statuses=(newer,))])
    result = writer.write(conn, [Message(received_at=T0, statuses=(older,))])
    assert result.statuses_applied == 0
    assert conn.execute("SELECT online FROM devices").fetchone() == (True,)


def test_a_failed_transaction_leaves_no_trace_and_no_stale_cache(
    conn: psycopg.Connection[TupleRow],
) -> None:
    writer = BatchWriter()
    poisoned = Message(received_at=T0, events=(Event("court", "new-dev", T0, "sos", "a\0b"),))
    with pytest.raises(psycopg.DataError):
        writer.write(conn, [readings_message("new-dev", [1.0]), poisoned])
    assert conn.execute("SELECT count(*) FROM devices").fetchone() == (0,)
    # The ids learnt in the rolled-back transaction were not cached: this must not fail.
    assert writer.write(conn, [readings_message("new-dev", [1.0])]).readings_stored == 1


def sent(device: str, values: dict[str, float], *, redelivered: bool = False) -> Message:
    """A message as ingest hands it over: with the MQTT message it came from."""
    topic = f"courtyard/v1/court/{device}/telemetry"
    payload = repr(sorted(values.items())).encode()
    return Message(
        received_at=T0,
        readings=tuple(Reading("court", device, m, T0, v) for m, v in values.items()),
        origin=Origin(topic, payload, len(payload), redelivered),
    )


def rejects(conn: psycopg.Connection[TupleRow]) -> list[tuple[object, ...]]:
    return conn.execute(
        "SELECT topic, payload_prefix, reason FROM rejected_messages ORDER BY id"
    ).fetchall()


def test_a_conflicting_duplicate_is_counted_and_recorded_once_an_identical_one_not(
    conn: psycopg.Connection[TupleRow],
) -> None:
    writer = BatchWriter()
    first = sent("tank-1", {"level_pct": 80.0, "temperature_c": 12.5})
    assert writer.write(conn, [first]).conflicting_duplicates == 0
    again = writer.write(conn, [first, sent("tank-1", {"level_pct": 80.0}, redelivered=True)])
    assert (again.readings_stored, again.conflicting_duplicates, again.rejects_stored) == (0, 0, 0)
    changed = sent("tank-1", {"level_pct": 35.0, "temperature_c": 12.5})
    result = writer.write(conn, [changed])
    assert (result.conflicting_duplicates, result.rejects_stored) == (1, 1)
    assert fed_last(conn).values.tolist() == [12.5], "the refused value is not fed to rules"
    assert rejects(conn) == [
        (
            changed.origin.topic,
            changed.origin.payload_prefix,
            "conflicting duplicate: 1 reading not stored, a different value being stored for "
            "the same series and time (the first one is kept): "
            "level_pct at 2026-11-28T08:00:00.000Z: 35.0 sent, 80.0 stored",
        )
    ]
    # The broker redelivers it (its ack was lost): counted again, recorded once.
    redelivered = sent("tank-1", {"level_pct": 35.0, "temperature_c": 12.5}, redelivered=True)
    result = writer.write(conn, [redelivered])
    assert (result.conflicting_duplicates, result.rejects_stored) == (1, 0)
    assert conn.execute(
        "SELECT value FROM readings_named WHERE metric = 'level_pct'"
    ).fetchall() == [(80.0,)]


def test_conflicts_within_one_batch_keep_the_first_value(
    conn: psycopg.Connection[TupleRow],
) -> None:
    writer = BatchWriter()
    batch = [
        sent("tank-1", {"level_pct": 1.0}),
        sent("tank-1", {"level_pct": 1.0}),  # the same again: nothing to say
        sent("tank-1", {"level_pct": 2.0}),
        sent("tank-2", {"level_pct": 3.0}),
        sent("tank-1", {"level_pct": 3.0, "temperature_c": 4.0}),
    ]
    result = writer.write(conn, batch)
    assert (result.readings_stored, result.conflicting_duplicates, result.rejects_stored) == (
        3,
        2,
        2,
    )
    assert [reason for _, prefix, reason in rejects(conn)] == [
        "conflicting duplicate: 1 reading not stored, a different value being stored for the "
        f"same series and time (the first one is kept): level_pct at {T0:%Y-%m-%dT%H:%M}"
        f":00.000Z: {v!r} sent, 1.0 stored"
        for v in (2.0, 3.0)
    ]
    # Against the store: the stored value wins over the first of the batch.
    again = writer.write(
        conn, [sent("tank-1", {"level_pct": 5.0}), sent("tank-1", {"level_pct": 1.0})]
    )
    assert (again.conflicting_duplicates, again.rejects_stored) == (1, 1)
    assert "5.0 sent, 1.0 stored" in str(rejects(conn)[-1][2])


def test_new_series_stop_at_the_devices_limit(conn: psycopg.Connection[TupleRow]) -> None:
    writer = BatchWriter(max_series_per_device=3)
    flood = sent("tank-1", {f"m_{i}": float(i) for i in range(5)})
    result = writer.write(conn, [flood, sent("tank-2", {"a": 1.0, "b": 2.0})])
    assert (result.readings_stored, result.readings_over_series_limit) == (5, 2)
    names = feed.series_names(conn, fed_last(conn).series_ids.tolist())
    assert [names[i][2] for i in fed_last(conn).series_ids.tolist()] == [
        "m_0",
        "m_1",
        "m_2",
        "a",
        "b",
    ]
    # A restarted worker (no cache) counts what is stored.
    result = BatchWriter(max_series_per_device=3).write(
        conn, [sent("tank-2", {"a": 1.0, "c": 1.0, "d": 1.0})]
    )
    assert (result.readings_stored, result.readings_over_series_limit) == (1, 1)
    assert conn.execute(
        "SELECT device, array_agg(metric ORDER BY metric) FROM readings_named GROUP BY 1 ORDER BY 1"
    ).fetchall() == [("tank-1", ["m_0", "m_1", "m_2"]), ("tank-2", ["a", "b", "c"])]
    assert [reason for _, _, reason in rejects(conn)] == [
        "series limit: device court/tank-1 already has its 3 series (max_series_per_device); "
        "2 readings of 2 new metrics not stored: m_3, m_4",
        "series limit: device court/tank-2 already has its 3 series (max_series_per_device); "
        "1 reading of 1 new metric not stored: d",
    ]


def test_the_series_limit_holds_for_workers_adding_series_at_once(
    conn: psycopg.Connection[TupleRow], database_url: str
) -> None:
    # One writer throughout: its cache knows the device, so only the limit makes it wait.
    writer = BatchWriter(max_series_per_device=3)
    writer.write(conn, [sent("tank-1", {"a": 1.0})])
    results: list[WriteResult] = []
    with psycopg.connect(database_url) as other, psycopg.connect(database_url) as waiting:
        with other.transaction():
            # Another worker, between adding series "b" and its commit.
            other.execute("SELECT id FROM devices FOR NO KEY UPDATE")
            other.execute("INSERT INTO series (device_id, metric) SELECT id, 'b' FROM devices")
            thread = threading.Thread(
                target=lambda: results.append(
                    writer.write(conn, [sent("tank-1", {"c": 1.0, "d": 1.0})])
                )
            )
            thread.start()
            pid = conn.info.backend_pid
            wait_for(
                lambda: (
                    waiting.execute(
                        "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s",
                        (pid,),
                    ).fetchone()
                    == (True,)
                ),
                timeout_s=10,
                what="the writer waiting for the device's row",
            )
        thread.join(10)
    assert [r.readings_over_series_limit for r in results] == [1]
    assert conn.execute("SELECT array_agg(metric ORDER BY metric) FROM series").fetchone() == (
        ["a", "b", "c"],
    )
