"""The first value for a series and time is kept; a different one later is counted and recorded."""

from __future__ import annotations

import orjson

from ingest import metrics
from tests.support.ingest import RunningIngest
from tests.support.mqtt import Publisher

TOPIC = "courtyard/v1/garden-court/tank-1/telemetry"
TS = "2026-11-28T08:30:00Z"


def telemetry(level_pct: float) -> bytes:
    return orjson.dumps({"ts": TS, "readings": {"level_pct": level_pct, "temperature_c": 12.5}})


def test_a_different_value_for_a_stored_time_is_counted_and_recorded_a_resend_is_not(
    ingest: RunningIngest, publisher: Publisher
) -> None:
    counted = metrics.CONFLICTING_DUPLICATES._value.get()
    publisher.publish(TOPIC, telemetry(80.0))
    publisher.flush()
    ingest.wait_for_count("SELECT count(*) FROM readings", 2)

    publisher.publish(TOPIC, telemetry(80.0))  # the same reading again: nothing to say
    changed = telemetry(35.0)  # the same time, another level
    publisher.publish(TOPIC, changed)
    # One writer works in order: once the sentinel is stored, so is everything before it.
    publisher.publish("courtyard/v1/garden-court/sentinel/telemetry", telemetry(1.0))
    publisher.flush()
    ingest.wait_for_count("SELECT count(*) FROM readings", 4)

    rejects = ingest.query(
        "SELECT topic, payload_prefix, payload_size, reason FROM rejected_messages"
    )
    assert rejects == [
        (
            TOPIC,
            changed,
            len(changed),
            "conflicting duplicate: 1 reading not stored, a different value being stored for "
            "the same series and time (the first one is kept): "
            "level_pct at 2026-11-28T08:30:00.000Z: 35.0 sent, 80.0 stored",
        )
    ]
    assert metrics.CONFLICTING_DUPLICATES._value.get() - counted == 1
    assert ingest.query(
        "SELECT metric, value FROM readings_named WHERE device = 'tank-1' ORDER BY metric"
    ) == [("level_pct", 80.0), ("temperature_c", 12.5)]
    fed = {value for metric, value in ingest.fed_readings() if metric == "level_pct"}
    assert fed == {80.0, 1.0}, "rules see the values stored, not the refused one"
    assert ingest.service.failed is None
