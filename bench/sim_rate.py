"""Benchmark: messages/s one simulator run sustains to a local broker, 10,000 devices.

Figures from the same run, against the same broker, each also as a ratio to the baseline:

  baseline     a bare paho publisher of pre-built payloads (the same messages): one client,
               paho's own network thread (`loop_start`), QoS 1, at most 1,000 unacknowledged,
               timed until every PUBACK: what a plain Python publisher gets through this broker;
  generate     the simulator producing messages into a null sink (no broker): its own ceiling;
  in-process   the simulator publishing with the engine in the publishing process (one client);
  simulate     `courtyard simulate`'s path: the engine in a child process, the parent publishing
               through MqttSink (one client, QoS 1, same window, timed until every PUBACK).

Target: simulate >= 1.0 x baseline ("the simulator is never the bottleneck of a load test"); the
last line says PASS or FAIL and the exit code is 0 or 1. Usage:

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


def measure(url: str, scenario: Scenario) -> bool:
    prebuilt = [(m.topic, m.payload, m.qos, m.retain) for m in simulate(scenario)]
    n = len(prebuilt)
    print(f"scenario {scenario.name}: {scenario.device_count():,} devices, "
          f"{scenario.duration_s / 3600:g} h simulated, {n:,} messages")  # fmt: skip

    base = baseline(url, prebuilt)
    gen = run(scenario, NullSink())
    rows = [("baseline", base, "bare paho loop (loop_start), pre-built, acked")]
    rows.append(("generate", gen.total_messages / gen.wall_s, "simulator into a null sink"))
    for name, in_child, what in (
        ("in-process", False, "simulator to broker, engine in this process, acked"),
        ("simulate", True, "simulator to broker, engine in a child process, acked"),
    ):
        sink = MqttSink(url, scenario.site.id, scenario.gateway, f"bench-{name}", WINDOW)
        summary = run(scenario, sink, in_child=in_child)
        if not summary.confirmed == summary.total_messages == n:
            raise SystemExit(f"{name}: {summary.confirmed} of {n} messages acknowledged")
        rows.append((name, summary.confirmed / summary.wall_s, what))

    print(f"{'':10} {'msg/s':>10} {'x baseline':>11}")
    for name, rate, what in rows:
        print(f"{name:10} {rate:10,.0f} {rate / base:11.2f}   {what}")
    ratio = rows[-1][1] / base
    verdict = "PASS" if ratio >= 1.0 else "FAIL"
    print(f"{verdict}: simulate / baseline = {ratio:.2f} (target >= 1.00)")
    return ratio >= 1.0


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
        raise SystemExit(0 if measure(args.url, scenario) else 1)
    from courtyard.embedded import EmbeddedMosquitto

    with (
        tempfile.TemporaryDirectory(prefix="sim-rate-") as tmp,
        EmbeddedMosquitto(Path(tmp)) as broker,
    ):
        print(f"embedded broker: {broker.backend} at {broker.url}")
        passed = measure(broker.url, scenario)
    raise SystemExit(0 if passed else 1)


if __name__ == "__main__":
    main()
