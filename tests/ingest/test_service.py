"""Round trip through a real broker and database: what devices publish is what the store holds."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import orjson

from tests.support.ingest import RunningIngest
from tests.support.mqtt import Publisher

T0 = datetime(2026, 11, 28, 8, 30, tzinfo=UTC)


def named_readings(ingest: RunningIngest, site: str) -> dict[tuple[str, str], list[object]]:
    rows = ingest.query(
        "SELECT device, metric, ts, value FROM readings_named WHERE site = %s ORDER BY ts", (site,)
    )
    found: dict[tuple[str, str], list[object]] = {}
    for device, metric, ts, value in rows:
        found.setdefault((str(device), str(metric)), []).append((ts, value))
    return found


def test_native_telemetry_events_and_status_arrive_with_device_time(
    ingest: RunningIngest, publisher: Publisher
) -> None:
    publisher.publish(
        "courtyard/v1/garden-court/tank-1/telemetry",
        orjson.dumps({"ts": "2026-11-28T08:30:00Z", "readings": {"level_pct": 81.5}}),
    )
    publisher.publish(
        "courtyard/v1/garden-court/pump-1/telemetry",
        orjson.dumps(
            [
                {"ts": 1795854600, "readings": {"pressure_bar": 3.2, "running": True}},
                {"ts": 1795854660000, "readings": {"pressure_bar": 3.1, "running": False}},
            ]
        ),
    )
    publisher.publish(
        "courtyard/v1/garden-court/gate-1/event",
        orjson.dumps(
            {"ts": "2026-11-28T16:30:00+08:00", "type": "access_granted", "subject": "card:8f3a"}
        ),
    )
    publisher.publish("courtyard/v1/garden-court/pump-1/status", b"offline", retain=True)
    publisher.flush()

    ingest.wait_for_count("SELECT count(*) FROM readings", 5)
    ingest.wait_for_count("SELECT count(*) FROM devices WHERE online IS NOT NULL", 1)
    readings = named_readings(ingest, "garden-court")
    assert readings[("tank-1", "level_pct")] == [(T0, 81.5)]
    assert [v for _, v in readings[("pump-1", "running")]] == [1.0, 0.0]
    assert [ts for ts, _ in readings[("pump-1", "pressure_bar")]] == [
        datetime(2026, 11, 28, 8, 30, tzinfo=UTC),
        datetime(2026, 11, 28, 8, 31, tzinfo=UTC),
    ]
    events = ingest.query(
        "SELECT d.device_key, e.ts, e.type, e.subject "
        "FROM events e JOIN devices d ON d.id = e.device_id"
    )
    assert events == [("gate-1", T0, "access_granted", "card:8f3a")]
    assert ingest.query("SELECT device_key, online FROM devices WHERE device_key = 'pump-1'") == [
        ("pump-1", False)
    ]
    assert ingest.wake_ups >= 1, "a commit wakes an in-process rules engine"


def test_senml_pack_is_stored_under_the_topic_device(
    ingest: RunningIngest, publisher: Publisher
) -> None:
    pack = [
        {
            "bn": "urn:dev:ow:10e2073a01080063:",
            "bt": 1.7958546e9,
            "n": "voltage",
            "u": "V",
            "v": 120.1,
        },
        {"n": "current", "u": "A", "t": 60, "v": 1.2},
    ]
    publisher.publish("courtyard/v1/garden-court/meter-7/telemetry", orjson.dumps(pack))
    publisher.flush()

    ingest.wait_for_count("SELECT count(*) FROM readings", 2)
    readings = named_readings(ingest, "garden-court")
    assert readings[("meter-7", "voltage")] == [(T0, 120.1)]
    assert readings[("meter-7", "current")] == [(datetime(2026, 11, 28, 8, 31, tzinfo=UTC), 1.2)]


def test_zigbee2mqtt_friendly_names_map_to_registered_devices(
    ingest: RunningIngest, publisher: Publisher
) -> None:
    name = "3号楼 201/front door"
    publisher.publish(
        f"zigbee2mqtt/{name}",
        orjson.dumps(
            {"contact": False, "battery": "97.00", "last_seen": "2026-11-28T16:30:00+08:00"}
        ),
    )
    publisher.publish("zigbee2mqtt/SOS 201", orjson.dumps({"action": "emergency", "battery": None}))
    publisher.publish("zigbee2mqtt/SOS 201", orjson.dumps({"action": "", "battery": None}))
    publisher.publish("zigbee2mqtt/SOS 201/action", b"emergency")  # per-attribute echo
    publisher.flush()

    ingest.wait_for_count("SELECT count(*) FROM device_aliases", 2)
    ingest.wait_for_count("SELECT count(*) FROM events", 1)
    aliases = dict(ingest.query("SELECT name, source FROM device_aliases"))
    assert aliases == {name: "zigbee2mqtt:zigbee2mqtt", "SOS 201": "zigbee2mqtt:zigbee2mqtt"}
    door = ingest.scalar(
        "SELECT d.device_key FROM device_aliases a JOIN devices d ON d.id = a.device_id "
        "WHERE a.name = %s",
        (name,),
    )
    readings = named_readings(ingest, "garden-court")
    assert readings[(str(door), "door_open")] == [(T0, 1.0)]  # contact false means open
    assert readings[(str(door), "battery_pct")] == [(T0, 97.0)]
    assert ingest.scalar("SELECT type FROM events") == "sos"
    assert ingest.scalar("SELECT count(*) FROM rejected_messages") == 0


def test_a_redelivered_message_is_stored_once(ingest: RunningIngest, publisher: Publisher) -> None:
    payload = orjson.dumps(
        {"ts": "2026-11-28T08:30:00Z", "readings": {"level_pct": 80.0, "temperature_c": 12.5}}
    )
    event = orjson.dumps({"ts": "2026-11-28T08:30:00Z", "type": "sos"})
    for _ in range(3):
        publisher.publish("courtyard/v1/garden-court/tank-1/telemetry", payload)
        publisher.publish("courtyard/v1/garden-court/tank-1/event", event)
    # One writer works in order: once the sentinel is stored, so is everything before it.
    publisher.publish("courtyard/v1/garden-court/sentinel/event", event)
    publisher.flush()

    ingest.wait_for_count("SELECT count(*) FROM events", 2)
    assert ingest.scalar("SELECT count(*) FROM readings") == 2
    fed = sum(len(b.events) for b in ingest.fed())
    assert fed == 2, "only the first copy of an event is fed to rules"
    assert ingest.query("SELECT sample_count FROM readings_hourly ORDER BY series_id") == [
        (1,),
        (1,),
    ]


def test_mqtt_3_1_1_works_the_same(
    start_ingest: Callable[..., RunningIngest], publisher: Publisher
) -> None:
    ingest = start_ingest(protocol="3.1.1")
    payload = {"ts": "2026-11-28T08:30:00Z", "readings": {"level_pct": 81.5}}
    publisher.publish("courtyard/v1/garden-court/tank-1/telemetry", orjson.dumps(payload))
    publisher.flush()
    ingest.wait_for_count("SELECT count(*) FROM readings", 1)
    assert named_readings(ingest, "garden-court")[("tank-1", "level_pct")] == [(T0, 81.5)]


def test_stop_leaves_no_thread_of_ingest_running(
    start_ingest: Callable[..., RunningIngest],
) -> None:
    before = set(threading.enumerate())
    ingest = start_ingest()
    started = set(threading.enumerate()) - before
    assert "APScheduler" in {t.name for t in started}  # store maintenance's scheduler
    ingest.service.stop()
    assert [t.name for t in started if t.is_alive()] == []
