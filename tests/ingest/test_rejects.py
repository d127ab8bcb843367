"""Bad input over a real broker: each case a reject with its reason, the valid around it kept."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson

from ingest import metrics
from ingest.wire import format_timestamp
from tests.support.ingest import RunningIngest
from tests.support.mqtt import Publisher

TELEMETRY = "courtyard/v1/garden-court/tank-1/telemetry"
NOW = datetime.now(UTC)

# (name, topic, payload, words the stored reason must contain)
BAD_INPUT: list[tuple[str, str, bytes, str]] = [
    ("bad JSON", TELEMETRY, b'{"readings": {', "not valid JSON"),
    (
        "wrong type",
        TELEMETRY,
        b'{"readings": {"level_pct": "high"}}',
        '"level_pct"] is not a number',
    ),
    ("NaN", TELEMETRY, b'{"readings": {"level_pct": NaN}}', "not valid JSON"),
    ("Infinity", TELEMETRY, b'{"readings": {"level_pct": 1e999}}', "infinity"),
    ("bad device id", "courtyard/v1/garden-court/tank 1/telemetry", b"{}", "device id 'tank 1'"),
    ("bad site", "courtyard/v1/garden~court/tank-1/telemetry", b"{}", "site 'garden~court'"),
    ("bad metric", TELEMETRY, b'{"readings": {"Level %": 1}}', 'key "Level %" is not a metric'),
    ("unknown channel", "courtyard/v1/garden-court/tank-1/command", b"{}", "unknown channel"),
    (
        "extra levels",  # the ingest subscription covers all of courtyard/v1/
        TELEMETRY + "/x",
        b'{"readings": {"level_pct": 1}}',
        "topic has 6 levels; expected courtyard/v1/<site>/<device>/<channel>",
    ),
    ("too few levels", "courtyard/v1/garden-court/tank-1", b"{}", "topic has 4 levels"),
    ("device id ..", "courtyard/v1/garden-court/../telemetry", b"{}", "device id '..' is reserved"),
    ("device id .", "courtyard/v1/garden-court/./event", b"{}", "device id '.' is reserved"),
    ("empty payload", TELEMETRY, b"", "payload is empty"),
    ("not UTF-8", TELEMETRY, b'\xff\xfe{"readings": {}}', "not valid UTF-8"),
    (
        "oversized",
        TELEMETRY,
        b'{"readings": {"a": 1}, "pad": "' + b"x" * 5000 + b'"}',
        "over the limit",
    ),
    (
        "in the future",
        TELEMETRY,
        orjson.dumps({"ts": format_timestamp(NOW + timedelta(days=1)), "readings": {"a": 1}}),
        "in the future",
    ),
    (
        "beyond retention",
        TELEMETRY,
        orjson.dumps({"ts": format_timestamp(NOW - timedelta(days=400)), "readings": {"a": 1}}),
        "older than the retention window of 365 days",
    ),
    (
        "refused by the database",  # valid JSON and wire format; PostgreSQL text cannot hold NUL
        "courtyard/v1/garden-court/tank-1/event",
        b'{"type": "tamper", "subject": "a\\u0000b"}',
        "the database refused it",
    ),
]


def valid(i: int) -> bytes:
    ts = format_timestamp(NOW - timedelta(minutes=i))
    return orjson.dumps({"ts": ts, "readings": {"level_pct": float(i)}})


def test_every_bad_input_is_a_reject_with_its_reason_and_the_valid_ones_are_stored(
    start_ingest: Callable[..., RunningIngest], publisher: Publisher
) -> None:
    # A batch larger than the test's messages: the good and the bad share one transaction.
    ingest = start_ingest(max_payload_bytes=1024, batch_max_age_s=1.0)
    rejected_before = metrics.REJECTED._value.get()
    for i, (_, topic, payload, _) in enumerate(BAD_INPUT):
        publisher.publish(TELEMETRY, valid(i))
        publisher.publish(topic, payload)
    publisher.publish(TELEMETRY, valid(len(BAD_INPUT)))
    publisher.flush()

    ingest.wait_for_count("SELECT count(*) FROM readings", len(BAD_INPUT) + 1)
    ingest.wait_for_count("SELECT count(*) FROM rejected_messages", len(BAD_INPUT))
    stored = ingest.query(
        "SELECT topic, payload_prefix, payload_size, reason FROM rejected_messages ORDER BY id"
    )
    for (name, topic, payload, words), (got_topic, prefix, size, reason) in zip(
        BAD_INPUT, stored, strict=True
    ):
        assert (got_topic, bytes(prefix), size) == (topic, payload[:200], len(payload)), name
        assert words in str(reason), f"{name}: {reason}"
    assert metrics.REJECTED._value.get() - rejected_before == len(BAD_INPUT)
    assert ingest.service.failed is None
