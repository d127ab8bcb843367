"""Tests for ingest/decoders/native.py: telemetry, event and status payloads on courtyard/v1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from ingest.decoders import native
from ingest.decoders.result import DecodeContext, Decoded, DecodeResult, Ignored, Rejected
from ingest.wire import Channel, Topic
from store.records import DeviceRef, Event, Reading, StatusChange

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(minutes=5)
CONTEXT = DecodeContext()
TANK = DeviceRef("site-1", "tank-1")


def run(channel: Channel, payload: object) -> DecodeResult:
    text = payload if isinstance(payload, str) else orjson.dumps(payload).decode()
    return native.decode(Topic("site-1", "tank-1", channel), text, NOW, CONTEXT)


def reading(metric: str, value: float, ts: datetime = NOW) -> Reading:
    return Reading("site-1", "tank-1", metric, ts, value)


@pytest.mark.parametrize(
    ("payload", "readings"),
    [
        ({"readings": {"level_pct": 81.5}}, [reading("level_pct", 81.5)]),
        (
            {"ts": "2026-03-01T11:55:00Z", "readings": {"level_pct": 81, "pump_on": True}},
            [reading("level_pct", 81.0, EARLIER), reading("pump_on", 1.0, EARLIER)],
        ),
        ({"ts": 1772366100, "readings": {"valve_open": False}},
         [reading("valve_open", 0.0, EARLIER)]),
        ({"ts": 1772366100000, "readings": {"x": -1e300}}, [reading("x", -1e300, EARLIER)]),
        ({"readings": {"level_pct": 1}, "firmware": "1.2", "seq": 7}, [reading("level_pct", 1.0)]),
        (
            [{"ts": "2026-03-01T11:55:00Z", "readings": {"level_pct": 80}},
             {"readings": {"level_pct": 79}}],
            [reading("level_pct", 80.0, EARLIER), reading("level_pct", 79.0)],
        ),
        # The same metric at the same time twice in one message: the later value is kept.
        (
            [{"readings": {"level_pct": 80}}, {"readings": {"level_pct": 79}}],
            [reading("level_pct", 79.0)],
        ),
    ],
)  # fmt: skip
def test_telemetry(payload: object, readings: list[Reading]) -> None:
    result = run(Channel.TELEMETRY, payload)
    assert isinstance(result, Decoded), result
    assert list(result.readings) == readings


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({}, '"readings" is missing'),
        ({"readings": {}},
         "readings must be a non-empty object of metric names to numbers, got an object"),
        ({"readings": [1]},
         "readings must be a non-empty object of metric names to numbers, got an array"),
        ({"readings": {"level_pct": "abc"}}, 'readings["level_pct"] is not a number: "abc"'),
        ({"readings": {"level_pct": None}}, 'readings["level_pct"] is null, not a number'),
        ({"readings": {"level_pct": {"v": 1}}}, 'readings["level_pct"] is not a number: an object'),
        ({"readings": {"Level": 1}},
         'readings key "Level" is not a metric name ([a-z][a-z0-9_]{0,63})'),
        ({"ts": "soon", "readings": {"a": 1}}, "ts: timestamp 'soon' is not RFC 3339"),
        ({"ts": "2026-03-01T13:00:00Z", "readings": {"a": 1}},
         "timestamp 2026-03-01T13:00:00.000Z is 3600 s in the future (tolerance 300 s)"),
        ({"ts": "2020-01-01T00:00:00Z", "readings": {"a": 1}},
         "older than the retention window of 365 days"),
        ([], "telemetry array is empty"),
        ("42", "telemetry must be a JSON object or an array of objects, got 42"),
        ('"hello"', 'telemetry must be a JSON object or an array of objects, got "hello"'),
        ([{"readings": {"a": 1}}, {"readings": {"a": 1}}, {"readings": {"a": "x"}}],
         'item 3 of 3 of the array: readings["a"] is not a number: "x"'),
        ([{"readings": {"a": 1}}, 5],
         "item 2 of 2 of the array: expected a telemetry object, got 5"),
        ("[1,", "payload is not valid JSON: unexpected end of data: line 1 column 4 (char 3)"),
        ('{"readings": {"a": NaN}}', "payload is not valid JSON: unexpected character"),
    ],
)  # fmt: skip
def test_telemetry_rejects_the_whole_message(payload: object, reason: str) -> None:
    result = run(Channel.TELEMETRY, payload)
    assert isinstance(result, Rejected), result
    assert reason in result.reason


@pytest.mark.parametrize(
    ("metrics", "kind"),
    [({"level_pct": 1}, "water_tank"), ({"pressure_bar": 3, "current_a": 4}, "booster_pump"),
     ({"current_a": 4}, None), ({"temperature_c": 20}, "climate_sensor")],
)  # fmt: skip
def test_telemetry_reveals_the_kind(metrics: dict[str, float], kind: str | None) -> None:
    result = run(Channel.TELEMETRY, {"readings": metrics})
    assert isinstance(result, Decoded)
    assert result.kinds == (((TANK, kind),) if kind else ())


def test_telemetry_senml_pack_is_decoded_as_senml() -> None:
    result = run(Channel.TELEMETRY, [{"bn": "urn:dev:ow:1:", "n": "level_pct", "v": 50}])
    assert isinstance(result, Decoded)
    assert result.readings == (reading("level_pct", 50.0),)
    assert result.kinds == ((TANK, "water_tank"),)


def test_telemetry_senml_pack_of_strings_only_is_ignored() -> None:
    result = run(Channel.TELEMETRY, [{"n": "label", "vs": "Machine Room"}])
    assert result == Ignored(
        "SenML pack holds only string or data values (vs, vd), which are not stored"
    )


@pytest.mark.parametrize(
    ("payload", "event"),
    [
        ({"type": "sos"}, Event("site-1", "tank-1", NOW, "sos")),
        (
            {"ts": "2026-03-01T11:55:00Z", "type": "access_granted", "subject": "card:8f3a",
             "attrs": {"door": "east"}, "extra": 1},
            Event("site-1", "tank-1", EARLIER, "access_granted", "card:8f3a", {"door": "east"}),
        ),
        ({"type": "door_open", "attrs": {}}, Event("site-1", "tank-1", NOW, "door_open")),
    ],
)  # fmt: skip
def test_event(payload: object, event: Event) -> None:
    result = run(Channel.EVENT, payload)
    assert isinstance(result, Decoded)
    assert result.events == (event,)


@pytest.mark.parametrize(
    ("type_", "kind"),
    [
        ("sos", "sos_button"),
        ("fall", "fall_detector"),
        ("bed_occupied", "bed_sensor"),
        ("seat_vacant", "seat_sensor"),
        ("appliance_on", "smart_plug"),
        ("pump_start", "booster_pump"),
        ("access_granted", None),  # readers, face gates and unit doors all send it
        # A door contact that sends only events (a unit door's reading says the same).
        ("door_open", "door_contact"),
        ("door_closed", "door_contact"),
        ("motion", None),
    ],
)
def test_event_types_that_say_what_sent_them(type_: str, kind: str | None) -> None:
    result = run(Channel.EVENT, {"type": type_})
    assert isinstance(result, Decoded)
    assert result.kinds == (((DeviceRef("site-1", "tank-1"), kind),) if kind else ())


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({}, 'event "type" is missing'),
        ({"type": "Door Open"}, 'event type "Door Open" does not match [a-z_]{1,64}'),
        ({"type": "sos", "subject": 5},
         "event subject must be a string of at most 256 characters, got 5"),
        ({"type": "sos", "subject": "x" * 257}, "event subject must be a string of at most 256"),
        ({"type": "sos", "attrs": [1]}, "event attrs must be a JSON object, got an array"),
        ({"type": "sos", "ts": False}, "ts: timestamp must be RFC 3339 or epoch seconds/ms"),
        ([{"type": "sos"}], "event payload must be a JSON object, got an array"),
        ("sos", "payload is not valid JSON"),
    ],
)  # fmt: skip
def test_event_rejects(payload: object, reason: str) -> None:
    result = run(Channel.EVENT, payload)
    assert isinstance(result, Rejected), result
    assert reason in result.reason


@pytest.mark.parametrize(
    ("payload", "online"),
    [("online", True), ("offline", False), (" online\n", True), ('{"status": "online"}', True),
     ('{"status": "offline", "ts": 1}', False)],
)  # fmt: skip
def test_status(payload: str, online: bool) -> None:
    status = StatusChange("site-1", "tank-1", NOW, online)
    assert run(Channel.STATUS, payload) == Decoded(statuses=(status,))


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("Online",
         'status payload must be "online" or "offline" (or {"status": "online"}), got "Online"'),
        ("1", 'got "1"'),
        ('{"status": "up"}', 'got "up"'),
        ('{"state": "online"}', "got null"),
        ('{"status": ', "payload is not valid JSON"),
    ],
)  # fmt: skip
def test_status_rejects(payload: str, reason: str) -> None:
    result = run(Channel.STATUS, payload)
    assert isinstance(result, Rejected), result
    assert reason in result.reason
