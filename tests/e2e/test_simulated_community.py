"""Two simulated days of small-community through Mosquitto and ingest: every message is stored."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from courtyard.embedded import EmbeddedMosquitto
from device_sims.publisher import MqttSink
from device_sims.runner import run
from device_sims.scenario import load_scenario
from tests.support.ingest import RunningIngest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_small_community_week_lands_message_for_message(
    start_ingest: Callable[..., RunningIngest], fresh_broker: EmbeddedMosquitto
) -> None:
    # Two days of the week (every device kind, both payload formats, the first incidents) keep
    # CI's time for the other end-to-end tests; the whole week runs in tests/e2e/test_scale_out.
    # The period ends now, so no timestamp is in the future or past retention.
    days = 2 * 86400.0
    scenario = load_scenario("small-community").with_overrides(
        start=datetime.now(UTC) - timedelta(seconds=days), duration_s=days
    )
    ingest = start_ingest(zigbee2mqtt_bases={scenario.z2m_base: scenario.site.id})

    sink = MqttSink(fresh_broker.url, scenario.site.id, scenario.gateway, client_id="e2e-sim")
    summary = run(scenario, sink)
    assert summary.confirmed == summary.total_messages

    ingest.wait_for_count("SELECT count(*) FROM readings", summary.total_readings, timeout_s=240)
    ingest.wait_for_count("SELECT count(*) FROM events", summary.total_events, timeout_s=60)
    ingest.wait_for_count(
        "SELECT count(*) FROM rejected_messages", summary.messages.get("malformed", 0)
    )
    devices = ingest.scalar("SELECT count(*) FROM devices WHERE site_id = %s", (scenario.site.id,))
    assert devices == summary.devices + 1  # the publisher's own gateway, its last will's device
