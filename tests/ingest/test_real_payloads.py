"""Real Zigbee2MQTT and SenML payloads over MQTT: stored as the decoder fixtures say, or rejected.

The fixture file (tests/ingest/decoders/fixtures/real_payloads.jsonl) holds every line of
shared/formats/examples.jsonl with its expected outcome. Here each is published through a real
broker into a running ingest. Each line gets a device of its own (a suffix on the friendly name
or device id) so the store can be checked line by line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from ingest.decoders.zigbee2mqtt import derived_device_id
from tests.support.ingest import RunningIngest
from tests.support.mqtt import Publisher

FIXTURES = Path(__file__).parent / "decoders" / "fixtures" / "real_payloads.jsonl"
SITE = "garden-court"
BASES = {"zigbee2mqtt": SITE, "base": SITE, "zigbee": SITE}
RECEIPT = datetime.min.replace(tzinfo=UTC)  # stands for "the time ingest received it"


def cases() -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in FIXTURES.read_text().splitlines() if line.strip()]
    return [c for c in lines if c["family"] in ("zigbee2mqtt", "senml_json")]


def own_topic(case: dict[str, Any]) -> tuple[str, str | None]:
    """The topic to publish on, and the device the readings should land on (None: nothing)."""
    topic, line = case["topic"], case["line"]
    if case["expect"]["outcome"] != "decoded":
        return topic, None
    if case["family"] == "senml_json":
        device = f"senml-line-{line}"
        return f"courtyard/v1/{SITE}/{device}/telemetry", device
    base, _, name = topic.partition("/")
    name = f"{name} line {line}"
    return f"{base}/{name}", derived_device_id(name)


def test_every_real_payload_is_stored_as_expected_or_rejected(
    start_ingest: Callable[..., RunningIngest], publisher: Publisher
) -> None:
    # Some examples carry device times from 2010: keep them inside the retention window.
    ingest = start_ingest(zigbee2mqtt_bases=BASES, retention_days=365 * 20)
    published_at = datetime.now(UTC)
    plan = [(case, *own_topic(case)) for case in cases()]
    for case, topic, _ in plan:
        publisher.publish(topic, case["payload"].encode())
    sentinel = orjson.dumps({"type": "sentinel"})
    publisher.publish(f"courtyard/v1/{SITE}/sentinel/event", sentinel)
    publisher.flush()
    ingest.wait_for_count("SELECT count(*) FROM events WHERE type = 'sentinel'", 1)

    for case, topic, device in plan:
        expect = case["expect"]
        label = f"line {case['line']} ({case['device']})"
        if device is None:
            stored = ingest.scalar(
                "SELECT count(*) FROM rejected_messages WHERE topic = %s", (topic,)
            )
            assert stored == (1 if expect["outcome"] == "rejected" else 0), label
            continue
        readings = ingest.query(
            "SELECT metric, ts, value FROM readings_named WHERE site = %s AND device = %s",
            (SITE, device),
        )
        events = ingest.query(
            "SELECT e.type, e.attrs FROM events e JOIN devices d ON d.id = e.device_id "
            "WHERE d.site_id = %s AND d.device_key = %s",
            (SITE, device),
        )
        # A reading without a device time is stamped at receipt: now, here, not the fixture's.
        expected = sorted(
            (m, RECEIPT if t == case["received_at"] else datetime.fromisoformat(t), v)
            for m, t, v in expect["readings"]
        )
        stored = sorted(
            (str(m), RECEIPT if abs(ts - published_at) < timedelta(minutes=1) else ts, v)
            for m, ts, v in readings
        )
        assert stored == expected, label
        assert sorted((t, a) for t, a in events) == sorted((t, a) for t, a in expect["events"]), (
            label
        )
