"""The engine: deterministic to the byte, in timestamp order, and the formats it speaks."""

from __future__ import annotations

import hashlib
from datetime import datetime

import orjson
import pytest

from device_sims.clock import SimulatedClock
from device_sims.encode import OutputFormat
from device_sims.engine import simulate
from device_sims.runner import run
from device_sims.scenario import Scenario, load_scenario
from device_sims.sinks import MemorySink
from ingest.wire import parse_timestamp, parse_topic


def _scenario(hours: float = 6, **overrides: object) -> Scenario:
    return load_scenario("incident-sos").with_overrides(duration_s=hours * 3600, **overrides)  # type: ignore[arg-type]


def _digest(scenario: Scenario) -> str:
    h = hashlib.sha256()
    for m in simulate(scenario):
        h.update(m.topic.encode() + b"\0" + m.payload + b"\0" + bytes([m.qos, m.retain]))
    return h.hexdigest()


def test_same_seed_same_bytes() -> None:
    assert _digest(_scenario()) == _digest(_scenario())


def test_other_seed_other_bytes() -> None:
    assert _digest(_scenario(seed=1)) != _digest(_scenario(seed=2))


def test_pacing_does_not_change_output() -> None:
    """A clock that really paces (here 2 simulated hours per real second, sleeps recorded and
    skipped) gives the same messages as running flat out."""
    scenario = _scenario(hours=2)
    fast, paced = MemorySink(), MemorySink()
    run(scenario, fast)
    now = [0.0]
    clock = SimulatedClock(scenario.start, 7200.0, monotonic=lambda: now[0],
                           sleep=lambda s: now.__setitem__(0, now[0] + s))  # fmt: skip
    run(scenario, paced, clock=clock)
    assert [(m.topic, m.payload) for m in fast.messages] == [
        (m.topic, m.payload) for m in paced.messages
    ]
    assert now[0] == pytest.approx(1.0, abs=0.01)  # 2 h at 7200x: one real second


def test_timestamps_are_in_order_and_inside_the_run() -> None:
    scenario = _scenario()
    messages = list(simulate(scenario))
    stamps = [m.ts for m in messages]
    assert stamps == sorted(stamps)
    assert scenario.start.timestamp() <= stamps[0] and stamps[-1] < scenario.end.timestamp()


def test_native_messages_follow_the_wire_format() -> None:
    for m in simulate(_scenario()):
        if m.channel in ("zigbee2mqtt", "zigbee2mqtt_availability", "zigbee2mqtt_bridge"):
            continue
        parsed = parse_topic(m.topic)
        assert not hasattr(parsed, "reason"), m.topic
        if m.channel == "status":
            assert m.payload in (b"online", b"offline") and m.retain
            continue
        body = orjson.loads(m.payload)
        assert isinstance(parse_timestamp(body["ts"]), datetime)
        if m.channel == "telemetry":
            assert len(body["readings"]) == m.readings


def test_senml_packs() -> None:
    packs = [orjson.loads(m.payload) for m in simulate(_scenario(fmt=OutputFormat.SENML))
             if m.channel == "telemetry"]  # fmt: skip
    assert packs
    for pack in packs:
        assert pack[0]["bn"].endswith(":") and isinstance(pack[0]["bt"], float)
        assert all(("v" in r) != ("vb" in r) for r in pack)
    units = {r["n"]: r.get("u") for pack in packs for r in pack}
    assert units["level_pct"] == "%" and units["temperature_c"] == "Cel"
    assert units["humidity_pct"] == "%RH"


def test_zigbee2mqtt_payloads_look_like_the_bridge() -> None:
    z2m = [m for m in simulate(_scenario(hours=30)) if m.topic.startswith("zigbee2mqtt/")]
    topics = {m.topic for m in z2m}
    assert "zigbee2mqtt/Room 1-602 张阿姨 front door" in topics
    assert "zigbee2mqtt/Room 1-602 张阿姨 front door/availability" in topics
    door = [orjson.loads(m.payload) for m in z2m if m.topic.endswith("front door")]
    contacts = [d["contact"] for d in door if "contact" in d]
    assert contacts and contacts.count(True) >= contacts.count(False) - 1  # true = closed
    assert all("last_seen" in d and d["last_seen"].endswith("+08:00") for d in door)


def test_summary_counts_what_was_sent() -> None:
    sink = MemorySink()
    summary = run(_scenario(), sink)
    assert summary.total_messages == len(sink.messages) == summary.confirmed
    assert summary.total_readings == sum(m.readings for m in sink.messages)
    assert summary.total_events == sum(m.events for m in sink.messages)
    # Every device says `online` once at the start (retained), plus the gateway; the Zigbee2MQTT
    # kit (9 sensors) does it on its availability topics.
    assert summary.messages["status"] == summary.devices - 9 + 1
    assert summary.messages["zigbee2mqtt_availability"] == 9
