"""Tests for ingest/decoders/__init__.py: routing, payload checks, real payloads, random input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.decoders import decode
from ingest.decoders.result import DecodeContext, Decoded, Ignored, Rejected
from ingest.inbound import Inbound
from ingest.wire import ID_PATTERN, format_timestamp, is_event_type, is_metric_name

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CONTEXT = DecodeContext(
    zigbee2mqtt_bases={"zigbee2mqtt": "site-a", "base": "site-b", "zigbee": "site-c"},
    max_payload_bytes=1024,
)
REAL_PAYLOADS = Path(__file__).parent / "fixtures" / "real_payloads.jsonl"


def inbound(topic: str, payload: bytes) -> Inbound:
    return Inbound(topic, payload, NOW)


@pytest.mark.parametrize(
    ("topic", "payload", "outcome"),
    [
        ("courtyard/v1/site-1/tank-1/telemetry", b'{"readings": {"level_pct": 1}}', Decoded),
        ("courtyard/v1/site-1/tank-1/telemetry", b'[{"n": "level_pct", "v": 1}]', Decoded),
        ("courtyard/v1/site-1/tank-1/event", b'{"type": "sos"}', Decoded),
        ("courtyard/v1/site-1/tank-1/status", b"offline", Decoded),
        ("zigbee2mqtt/lamp", b'{"state": "ON"}', Decoded),
        ("zigbee2mqtt/bridge/state", b"online", Ignored),
        ("base/livingroom/door", b'{"battery": "100.00"}', Decoded),
    ],
)
def test_routes_by_topic(topic: str, payload: bytes, outcome: type) -> None:
    assert isinstance(decode(inbound(topic, payload), CONTEXT), outcome)


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("tele/tasmota/SENSOR", b"{}",
         "topic 'tele/tasmota/SENSOR' is neither courtyard/v1/... nor under a configured "
         "Zigbee2MQTT base (base, zigbee, zigbee2mqtt)"),
        ("zigbee2mqttx/lamp", b"{}", "is neither courtyard/v1/..."),
        ("courtyard/v1/site-1/tank-1", b"{}",
         "topic has 4 levels; expected courtyard/v1/<site>/<device>/<channel>"),
        ("courtyard/v1/site-1/tank-1/telemetry/x", b"{}",
         "topic has 6 levels; expected courtyard/v1/<site>/<device>/<channel>"),
        ("courtyard/v1/site-1/tank-1/telemetry/", b"{}", "topic has 6 levels"),
        ("courtyard/v1", b"{}", "topic has 2 levels"),
        ("courtyard/v1/site-1/../telemetry", b"{}",
         "device id '..' is reserved (a path step), not an identifier"),
        ("courtyard/v1/site-1/./event", b"{}", "device id '.' is reserved"),
        ("courtyard/v1/../tank-1/status", b"online", "site '..' is reserved"),
        ("courtyard/v1//tank-1/telemetry", b"{}", "site '' does not match"),
        ("courtyard/v1/site 1/tank-1/telemetry", b"{}",
         "site 'site 1' does not match [A-Za-z0-9_.-]{1,64}"),
        ("courtyard/v1/site-1/tank-1/metrics", b"{}", "unknown channel 'metrics'"),
        ("courtyard/v1/site-1/tank-1/telemetry", b"", "payload is empty"),
        ("zigbee2mqtt/lamp", b"", "payload is empty"),
        ("courtyard/v1/site-1/tank-1/telemetry", b"[" + b"1," * 600 + b"1]",
         "payload is 1203 bytes, over the limit of 1024 bytes"),
        ("courtyard/v1/site-1/tank-1/status", b"on\xfflin",
         "payload is not valid UTF-8: invalid start byte (byte 0xff at offset 2)"),
        ("courtyard/v1/site-1/tank-1/telemetry", b'{"readings": {"a": 1e999}}',
         "payload is not valid JSON: number is infinity when parsed as double: line 1 column 20"),
        ("courtyard/v1/site-1/tank-1/telemetry", b'{"readings": ',
         "payload is not valid JSON: unexpected end of data: line 1 column 14 (char 13)"),
        ("courtyard/v1/site-1/gate-1/event",
         b'{"type": "tamper", "attrs": ' + b'{"a":' * 40 + b"1" + b"}" * 41,
         '"attrs" nests deeper than 32 levels of objects and arrays'),
        ("courtyard/v1/site-1/tank-1/status", b'{"status": ' + b"[" * 40 + b"]" * 40 + b"}",
         '"status" nests deeper than 32 levels of objects and arrays'),
    ],
)  # fmt: skip
def test_rejects(topic: str, payload: bytes, reason: str) -> None:
    result = decode(inbound(topic, payload), CONTEXT)
    assert isinstance(result, Rejected), result
    assert reason in result.reason


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("zigbee2mqtt/lamp", b'{"state": "' + b"x" * 5000 + b'"}',
         "the string at $.state is 5000 characters long, over the limit of 4096"),
        ("zigbee2mqtt/lamp", b'{"update": {"notes": [' + b"0," * 4096 + b'0]}}',
         "the array at $.update.notes has 4097 items, over the limit of 4096"),
        ("zigbee2mqtt/lamp/availability", b'{"state": "' + b"x" * 5000 + b'"}',
         "the string at $.state is 5000 characters long"),
        ("courtyard/v1/site-1/tank-1/telemetry", b"[" + b'{"n": "a", "v": 1},' * 4096 + b"{}]",
         "the array at $ has 4097 items, over the limit of 4096"),
    ],
)  # fmt: skip
def test_json_bounds_apply_to_every_dialect(topic: str, payload: bytes, reason: str) -> None:
    result = decode(inbound(topic, payload), DecodeContext(zigbee2mqtt_bases={"zigbee2mqtt": "s"}))
    assert isinstance(result, Rejected), result
    assert reason in result.reason


def test_context_now_overrides_received_at() -> None:
    later = NOW + timedelta(hours=12)
    context = DecodeContext(now=later)
    result = decode(inbound("courtyard/v1/s/d/telemetry", b'{"readings": {"a": 1}}'), context)
    assert isinstance(result, Decoded)
    assert result.readings[0].ts == later


# --- Every zigbee2mqtt and SenML line of shared/formats/examples.jsonl (and the rest) ----------


def load_real_payloads() -> list[dict[str, Any]]:
    return [json.loads(line) for line in REAL_PAYLOADS.read_text().splitlines() if line]


@pytest.mark.parametrize(
    "case", load_real_payloads(), ids=lambda case: f"{case['line']}-{case['family']}"
)
def test_real_payloads(case: dict[str, Any]) -> None:
    received_at = datetime.fromisoformat(case["received_at"])
    message = Inbound(case["topic"], case["payload"].encode(), received_at)
    result = decode(message, CONTEXT)
    expect = case["expect"]
    assert type(result).__name__.lower() == expect["outcome"], result
    if not isinstance(result, Decoded):
        assert expect["reason"] in result.reason
        return
    readings = [[r.metric, format_timestamp(r.ts), r.value] for r in result.readings]
    assert sorted(readings) == sorted(expect["readings"])
    assert [[e.type, e.attrs] for e in result.events] == expect["events"]
    assert {r.device for r in result.readings} | {e.device for e in result.events} == {
        expect["device"]
    }
    assert [kind for _, kind in result.kinds] == ([expect["kind"]] if "kind" in expect else [])


def test_real_payloads_cover_every_example_line() -> None:
    lines = [case["line"] for case in load_real_payloads()]
    assert lines == list(range(1, 39))


# --- Decoders never raise, whatever the bytes ---------------------------------------------------

TOPICS = st.sampled_from(
    [
        "courtyard/v1/site-1/dev-1/telemetry",
        "courtyard/v1/site-1/dev-1/event",
        "courtyard/v1/site-1/dev-1/status",
        "courtyard/v1/site-1/dev-1/other",
        "zigbee2mqtt/Küche Sensor",
        "zigbee2mqtt/a/b/availability",
        "zigbee2mqtt/x/set",
        "zigbee2mqtt/bridge/state",
        "base/livingroom/door",
        "elsewhere/x",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
KEYS = st.sampled_from(
    ["ts", "readings", "type", "subject", "attrs", "status", "state", "bn", "bt", "bu", "bv", "bs",
     "bver", "n", "u", "v", "vs", "vb", "vd", "s", "t", "ut", "x_", "contact", "occupancy",
     "action", "last_seen", "battery", "voltage", "power", "update", "level_pct", "Bad Key"]
) | st.text(max_size=8)  # fmt: skip
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(KEYS, children, max_size=6),
    max_leaves=25,
)


def check_decoded(result: object) -> None:
    assert isinstance(result, Decoded | Rejected | Ignored)
    if isinstance(result, Rejected | Ignored):
        assert result.reason
        return
    for reading in result.readings:
        assert is_metric_name(reading.metric), reading
        assert ID_PATTERN.fullmatch(reading.device), reading
    for event in result.events:
        assert is_event_type(event.type), event


@settings(max_examples=400, deadline=None)
@given(topic=TOPICS, payload=st.binary(max_size=300))
def test_random_bytes_never_raise(topic: str, payload: bytes) -> None:
    check_decoded(decode(inbound(topic, payload), CONTEXT))


@settings(max_examples=600, deadline=None)
@given(topic=TOPICS, data=JSON)
def test_random_json_never_raises(topic: str, data: object) -> None:
    check_decoded(decode(inbound(topic, orjson.dumps(data)), CONTEXT))


@settings(max_examples=400, deadline=None)
@given(records=st.lists(st.dictionaries(KEYS, SCALARS, max_size=6), min_size=1, max_size=6))
def test_random_senml_packs_never_raise(records: list[dict[str, object]]) -> None:
    topic = "courtyard/v1/site-1/dev-1/telemetry"
    check_decoded(decode(inbound(topic, orjson.dumps(records)), CONTEXT))
