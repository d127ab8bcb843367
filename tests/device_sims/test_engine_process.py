"""The engine in a child process: the same messages as in process, and no child left behind."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from courtyard.embedded import EmbeddedMosquitto
from device_sims.engine import simulate
from device_sims.engine_process import CHUNK, EngineProcess, EngineProcessError
from device_sims.publisher import MqttSink
from device_sims.runner import run
from device_sims.scenario import load_scenario


def _children() -> set[int]:
    """Pids of this process's live children (Linux), except multiprocessing's resource tracker:
    one per interpreter, started with the first spawned process, gone when this one exits."""
    pids: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except FileNotFoundError:
                continue
            if b"multiprocessing.resource_tracker" not in cmdline:
                pids.add(int(pid))
    return pids


class Recorder:
    """A QoS 1 subscriber to everything, keeping (topic, payload) in arrival order."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.received: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        subscribed = threading.Event()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-recorder")
        client.on_connect = lambda c, *a: c.subscribe([("courtyard/#", 1), ("zigbee2mqtt/#", 1)])
        client.on_subscribe = lambda *a: subscribed.set()
        client.on_message = self._on_message
        client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
        client.loop_start()
        assert subscribed.wait(10)
        self.client = client

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.received.append((msg.topic, bytes(msg.payload)))

    def wait_for(self, n: int, timeout_s: float = 30.0) -> bool:
        tick = threading.Event()
        for _ in range(int(timeout_s * 20)):
            with self._lock:
                if len(self.received) >= n:
                    return True
            tick.wait(0.05)
        return False

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_child_sends_exactly_the_in_process_messages() -> None:
    scenario = load_scenario("incident-fall").with_overrides(duration_s=24 * 3600)
    before = _children()
    expected = list(simulate(scenario, qos=0))
    with EngineProcess(scenario, qos=0) as messages:
        got = list(messages)
    assert len(expected) > 2 * CHUNK  # several chunks, and a partial last one
    assert got == expected
    assert _children() == before


@pytest.mark.timeout(120)
def test_published_through_the_child_as_in_process(fresh_broker: EmbeddedMosquitto) -> None:
    scenario = load_scenario("incident-sos").with_overrides(duration_s=3 * 3600)
    expected = [(m.topic, m.payload) for m in simulate(scenario)]
    before = _children()
    recorder = Recorder(fresh_broker.url)
    try:
        sink = MqttSink(fresh_broker.url, scenario.site.id, scenario.gateway, window=100)
        summary = run(scenario, sink, in_child=True)
        assert summary.confirmed == summary.total_messages == len(expected)
        assert recorder.wait_for(len(expected))
        recorder.wait_for(len(expected) + 1, timeout_s=0.5)  # nothing extra arrives
    finally:
        recorder.close()
    assert recorder.received == expected  # same bytes, same order
    assert _children() == before


def test_leaving_early_ends_the_child() -> None:
    scenario = load_scenario("city-block")
    before = _children()
    with pytest.raises(KeyboardInterrupt), EngineProcess(scenario) as messages:
        next(messages)
        assert len(_children() - before) == 1
        raise KeyboardInterrupt
    assert _children() == before


def test_a_dead_child_is_an_error_not_a_short_run() -> None:
    scenario = load_scenario("city-block")
    before = _children()
    with pytest.raises(EngineProcessError, match="died"), EngineProcess(scenario) as messages:
        next(messages)
        (child,) = _children() - before
        os.kill(child, signal.SIGKILL)
        for _ in messages:
            pass
    assert _children() == before
