"""The demo's simulator and a broker that is away when an episode starts: it waits for the
broker instead of failing (which made `courtyard up --demo` stop everything)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from courtyard import demo
from courtyard.embedded import EmbeddedMosquitto
from device_sims.scenario import load_scenario
from ingest.subscriber import parse_broker_url
from ingest.wire import Channel, topic
from tests.support.waiting import wait_for


def retained(url: str, subject: str) -> bytes | None:
    """The message retained on `subject`, if any (a fresh subscriber gets it at once)."""
    address = parse_broker_url(url)
    got: list[bytes] = []
    done = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-retained")
    client.on_connect = lambda c, *a: c.subscribe(subject, 1)
    client.on_message = lambda c, u, msg: (got.append(bytes(msg.payload)), done.set())
    client.connect(address.host, address.port)
    client.loop_start()
    try:
        done.wait(2)
    finally:
        client.disconnect()
        client.loop_stop()
    return got[0] if got else None


@pytest.mark.timeout(120)
def test_the_demo_simulator_waits_for_a_broker_that_is_away(
    fresh_broker: EmbeddedMosquitto,
) -> None:
    scenario = load_scenario(demo.SCENARIO)
    now = datetime.now(UTC)
    timeline = demo.plan_timeline(scenario.start, now, now - timedelta(minutes=5))
    fresh_broker.stop()
    simulator = demo.DemoSimulator(scenario, fresh_broker.url, timeline)
    simulator.start()
    try:
        time.sleep(3)  # the broker stays away a while
        assert simulator.failed is None
        fresh_broker.start()
        gateway = topic(scenario.site.id, scenario.gateway, Channel.STATUS)
        wait_for(
            lambda: retained(fresh_broker.url, gateway) is not None,
            timeout_s=60,
            interval_s=0.5,
            what="the simulator's first message",
        )
        assert simulator.failed is None
    finally:
        simulator.stop()
