"""Benchmark: messages/s one simulator process sustains to a local broker, 10,000 devices.

Three figures from the same run, against the same broker:

  baseline   a bare paho loop publishing pre-built payloads (the same messages), QoS 1, waiting
             for every PUBACK: what one Python publisher can get through this broker at all;
  generate   the simulator producing messages into a null sink (no broker): its own ceiling;
  simulate   the simulator publishing to the broker through MqttSink (QoS 1, acked).

The simulator is not the bottleneck of a load test when generate >> baseline and
simulate / baseline is close to 1. Usage:

    python bench/sim_rate.py [--url mqtt://host:port] [--scenario city-block] [--duration 3h]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from device_sims.engine import simulate
from device_sims.publisher import MqttSink
from device_sims.runner import run
from device_sims.scenario import Scenario, load_scenario
from device_sims.scenario_schema import parse_duration
from device_sims.sinks import NullSink

WINDOW = 1000


def baseline(url: str, messages: list[tuple[str, bytes, int, bool]]) -> float:
    parts = urlsplit(url)
    acked = 0
    done = threading.Condition()

    def on_publish(*_: object) -> None:
        nonlocal acked
        with done:
            acked += 1
            done.notify_all()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-baseline")
    client.max_inflight_messages_set(WINDOW)
    client.max_queued_messages_set(0)
    client.on_publish = on_publish
    client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
    client.loop_start()
    started = time.monotonic()
    for sent, (topic, payload, qos, retain) in enumerate(messages, 1):
        with done:
            while sent - acked > WINDOW:
                done.wait()
        client.publish(topic, payload, qos, retain)
    with done:
        done.wait_for(lambda: acked >= len(messages), 120)
    elapsed = time.monotonic() - started
    client.disconnect()
    client.loop_stop()
    return len(messages) / elapsed


def measure(url: str, scenario: Scenario) -> None:
    prebuilt = [(m.topic, m.payload, m.qos, m.retain) for m in simulate(scenario)]
    n = len(prebuilt)
    print(f"scenario {scenario.name}: {scenario.device_count():,} devices, "
          f"{scenario.duration_s / 3600:g} h simulated, {n:,} messages")  # fmt: skip

    base = baseline(url, prebuilt)
    gen = run(scenario, NullSink())
    gen_rate = gen.total_messages / gen.wall_s
    sink = MqttSink(url, scenario.site.id, scenario.gateway, client_id="bench-sim", window=WINDOW)
    sim = run(scenario, sink)
    sim_rate = sim.confirmed / sim.wall_s
    assert sim.confirmed == sim.total_messages == n

    print(f"{'':10} {'msg/s':>10} {'x baseline':>11}")
    print(f"{'baseline':10} {base:10,.0f} {1.0:11.2f}   bare paho loop, pre-built, acked")
    print(f"{'generate':10} {gen_rate:10,.0f} {gen_rate / base:11.2f}   simulator into a null sink")
    print(f"{'simulate':10} {sim_rate:10,.0f} {sim_rate / base:11.2f}   simulator to broker, acked")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="", help="broker URL (default: an embedded Mosquitto)")
    parser.add_argument("--scenario", default="city-block")
    parser.add_argument("--duration", default="3h", help="simulated time to run (default 3h)")
    args = parser.parse_args()
    scenario = load_scenario(args.scenario).with_overrides(duration_s=parse_duration(args.duration))
    if args.url:
        measure(args.url, scenario)
        return
    from courtyard.embedded import EmbeddedMosquitto

    with (
        tempfile.TemporaryDirectory(prefix="sim-rate-") as tmp,
        EmbeddedMosquitto(Path(tmp)) as broker,
    ):
        print(f"embedded broker: {broker.backend} at {broker.url}")
        measure(broker.url, scenario)


if __name__ == "__main__":
    main()
