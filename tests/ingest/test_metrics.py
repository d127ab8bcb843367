"""`courtyard ingest` serves its Prometheus counters: received, rejected, conflicting, batches."""

from __future__ import annotations

import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from courtyard.embedded import EmbeddedMosquitto
from courtyard.ports import free_port
from ingest.wire import format_timestamp
from tests.support.mqtt import Publisher
from tests.support.processes import CourtyardProcess, courtyard_env
from tests.support.waiting import wait_for


def scrape(port: int) -> dict[str, float]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return {}
    samples = {}
    for line in text.splitlines():
        if line.startswith("courtyard_"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def test_counters_are_served_and_count(
    tmp_path: Path, database_url: str, fresh_broker: EmbeddedMosquitto
) -> None:
    port = free_port()
    env = courtyard_env(
        database_url=database_url,
        mqtt_url=fresh_broker.url,
        ingest__client_id="metrics-worker",
        ingest__metrics_port=str(port),
    )
    worker = CourtyardProcess(["ingest"], env, tmp_path, "metrics-worker")
    worker.start()
    try:
        wait_for(lambda: "subscribed to" in worker.log(), timeout_s=30, what="subscription")
        with Publisher(fresh_broker.url) as publisher:
            publisher.publish(
                "courtyard/v1/court/tank-1/telemetry", b'{"readings": {"level_pct": 1}}'
            )
            publisher.publish("courtyard/v1/court/tank-1/telemetry", b"not json")
            # Two values for one time: the first is stored, the second counted and recorded.
            ts = format_timestamp(datetime.now(UTC) - timedelta(hours=1))
            for value in (2.0, 3.0):
                publisher.publish(
                    "courtyard/v1/court/tank-1/telemetry",
                    orjson.dumps({"ts": ts, "readings": {"level_pct": value}}),
                )
            publisher.flush()
        expected = {
            "courtyard_ingest_messages_received_total": 4.0,
            "courtyard_ingest_messages_rejected_total": 1.0,
            "courtyard_ingest_readings_stored_total": 2.0,
            "courtyard_ingest_conflicting_duplicates_total": 1.0,
            "courtyard_ingest_readings_over_series_limit_total": 0.0,
        }
        samples = wait_for(
            lambda: (s := scrape(port)) and all(s.get(k) == v for k, v in expected.items()) and s,
            timeout_s=20,
            what=f"{expected} in the scrape",
        )
        assert "courtyard_ingest_messages_undelivered" in samples
        assert samples["courtyard_ingest_batch_seconds_count"] >= 1
    finally:
        worker.terminate()
