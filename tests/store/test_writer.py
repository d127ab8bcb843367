"""BatchWriter: one transaction, idempotent writes, registry and hourly rollup kept right."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import TupleRow

from store.records import Alias, DeviceRef, Event, Message, Reading, Reject, StatusChange
from store.writer import BatchWriter

T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


def readings_message(device: str, values: list[float], start: datetime = T0) -> Message:
    return Message(
        received_at=start,
        readings=tuple(
            Reading("court", device, "level_pct", start + timedelta(minutes=10 * i), v)
            for i, v in enumerate(values)
        ),
    )


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
    assert first.events == (sos,) and second.events == ()
    assert first.status_changes == (offline,) and second.status_changes == ()
    assert (first.rejects_stored, second.rejects_stored) == (1, 1)
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
    assert result.status_changes == ()
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
