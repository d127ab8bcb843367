"""Publishing through a real Mosquitto: what the summary reports arrives, across restarts."""

from __future__ import annotations

import threading
from collections import Counter
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from courtyard.embedded import EmbeddedMosquitto
from device_sims.engine import simulate
from device_sims.publisher import MqttSink, PublishError
from device_sims.runner import run
from device_sims.scenario import load_scenario


class Counting:
    """A QoS 1 subscriber to everything, counting messages per topic kind."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.counts: Counter[str] = Counter()
        self.total = 0
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-counter")
        client.on_connect = lambda c, *a: c.subscribe([("courtyard/#", 1), ("zigbee2mqtt/#", 1)])
        client.on_subscribe = lambda *a: self._subscribed.set()
        client.on_message = self._on_message
        client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
        client.loop_start()
        assert self._subscribed.wait(10)
        self.client = client

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.total += 1
            self.counts[
                msg.topic.rsplit("/", 1)[-1] if msg.topic.startswith("courtyard/") else "z2m"
            ] += 1

    def wait_for(self, n: int, timeout_s: float = 30.0) -> bool:
        done = threading.Event()
        for _ in range(int(timeout_s * 20)):
            with self._lock:
                if self.total >= n:
                    return True
            done.wait(0.05)
        return False

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.mark.timeout(60)
def test_subscriber_receives_exactly_what_the_summary_says(fresh_broker: EmbeddedMosquitto) -> None:
    scenario = load_scenario("incident-sos").with_overrides(duration_s=6 * 3600)
    counter = Counting(fresh_broker.url)
    try:
        sink = MqttSink(fresh_broker.url, scenario.site.id, scenario.gateway, window=200)
        summary = run(scenario, sink)
        assert summary.confirmed == summary.total_messages > 1000
        assert counter.wait_for(summary.total_messages)
        counter.wait_for(summary.total_messages + 1, timeout_s=0.5)  # nothing extra arrives
        assert counter.total == summary.total_messages
        native = summary.messages
        assert counter.counts["telemetry"] == native["telemetry"] + native.get("malformed", 0)
        assert counter.counts["event"] == native["event"]
        assert counter.counts["status"] == native["status"]
        assert counter.counts["z2m"] == (
            native["zigbee2mqtt"]
            + native["zigbee2mqtt_availability"]
            + native.get("zigbee2mqtt_bridge", 0)
        )
    finally:
        counter.close()


def test_rate_limit_is_kept(fresh_broker: EmbeddedMosquitto) -> None:
    import time

    scenario = load_scenario("incident-sos").with_overrides(duration_s=1800)
    sink = MqttSink(fresh_broker.url, scenario.site.id, scenario.gateway)
    started = time.monotonic()
    summary = run(scenario, sink, rate=2000.0)
    elapsed = time.monotonic() - started
    assert summary.total_messages / elapsed <= 2000 * 1.1


def test_unreachable_broker_is_a_clear_error() -> None:
    from courtyard.ports import free_port

    with pytest.raises(PublishError, match="cannot connect"):
        MqttSink(f"mqtt://127.0.0.1:{free_port()}", "s", "g", connect_timeout_s=2)


@pytest.mark.timeout(120)
def test_publisher_survives_a_broker_restart(
    fresh_broker: EmbeddedMosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    scenario = load_scenario("incident-sos").with_overrides(duration_s=3 * 3600)
    messages = list(simulate(scenario))
    sink = MqttSink(fresh_broker.url, scenario.site.id, scenario.gateway, window=100)
    half = len(messages) // 2
    for message in messages[:half]:
        sink.send(message)
    fresh_broker.restart()
    for message in messages[half:]:
        sink.send(message)
    assert sink.close() == len(messages)
    assert "reconnecting" in caplog.text


@pytest.mark.timeout(120)
def test_publisher_waits_out_a_broker_that_stays_away(fresh_broker: EmbeddedMosquitto) -> None:
    """Away for longer than any of the sink's timeouts: it reconnects for as long as it takes
    (here the ack timeout is 1 s and the broker is gone for about 5), and nothing is lost."""
    scenario = load_scenario("incident-sos").with_overrides(duration_s=3 * 3600)
    messages = list(simulate(scenario))
    sink = MqttSink(
        fresh_broker.url, scenario.site.id, scenario.gateway, window=100, ack_timeout_s=1.0
    )
    half = len(messages) // 2
    for message in messages[:half]:
        sink.send(message)
    fresh_broker.stop()
    outcome: list[object] = []

    def publish_the_rest() -> None:  # the sink blocks while the broker is away
        try:
            for message in messages[half:]:
                sink.send(message)
            outcome.append(sink.close())
        except BaseException as exc:
            outcome.append(exc)

    sender = threading.Thread(target=publish_the_rest, name="test-sim-sender")
    sender.start()
    sender.join(5)  # the outage; a sink that gives up has ended by now
    fresh_broker.start()  # from this (the main) thread: the broker lives as long as it
    sender.join(60)
    assert not sender.is_alive()
    assert outcome == [len(messages)]
