"""A device's series are capped: the excess of a flood of metric names is a counted reject."""

from __future__ import annotations

import orjson

from ingest import metrics
from ingest.settings import IngestSettings
from tests.support.ingest import RunningIngest
from tests.support.mqtt import Publisher

TOPIC = "courtyard/v1/garden-court/tank-1/telemetry"
TS = "2026-11-28T08:30:00Z"
LIMIT = IngestSettings().max_series_per_device


def telemetry(readings: dict[str, float], ts: str = TS) -> bytes:
    return orjson.dumps({"ts": ts, "readings": readings})


def test_3000_metric_names_in_one_message_are_capped_and_the_excess_rejected(
    ingest: RunningIngest, publisher: Publisher
) -> None:
    counted = metrics.READINGS_OVER_SERIES_LIMIT._value.get()
    flood = telemetry({f"m_{i:04d}": float(i) for i in range(3000)})
    publisher.publish(TOPIC, flood)
    # Later: a known metric is still stored, a new one is not; another device is not affected.
    later = "2026-11-28T08:31:00Z"
    publisher.publish(TOPIC, telemetry({"m_0000": 1.0, "level_pct": 80.0}, ts=later))
    publisher.publish("courtyard/v1/garden-court/tank-2/telemetry", telemetry({"level_pct": 50.0}))
    publisher.flush()

    ingest.wait_for_count("SELECT count(*) FROM rejected_messages", 2)
    assert ingest.query("SELECT device_id, count(*) FROM series GROUP BY 1 ORDER BY 1") == [
        (1, LIMIT),
        (2, 1),
    ]
    # The metrics sent first are the ones kept.
    assert ingest.scalar("SELECT max(metric) FROM series WHERE device_id = 1") == (
        f"m_{LIMIT - 1:04d}"
    )
    ingest.wait_for_count("SELECT count(*) FROM readings", LIMIT + 2)
    rejects = ingest.query(
        "SELECT topic, payload_prefix, payload_size, reason FROM rejected_messages ORDER BY id"
    )
    topic, prefix, size, reason = rejects[0]
    assert (topic, bytes(prefix), size) == (TOPIC, flood[:200], len(flood))
    assert reason == (
        f"series limit: device garden-court/tank-1 already has its {LIMIT} series "
        f"(max_series_per_device); {3000 - LIMIT} readings of {3000 - LIMIT} new metrics "
        f"not stored: m_{LIMIT:04d}, m_{LIMIT + 1:04d}, m_{LIMIT + 2:04d} and "
        f"{3000 - LIMIT - 3} more"
    )
    assert rejects[1][3] == (
        f"series limit: device garden-court/tank-1 already has its {LIMIT} series "
        "(max_series_per_device); 1 reading of 1 new metric not stored: level_pct"
    )
    assert metrics.READINGS_OVER_SERIES_LIMIT._value.get() - counted == 3000 - LIMIT + 1
    fed = [metric for metric, _ in ingest.fed_readings()]
    assert len(fed) == LIMIT + 2 and "level_pct" in fed and "m_2999" not in fed
    assert ingest.service.failed is None
