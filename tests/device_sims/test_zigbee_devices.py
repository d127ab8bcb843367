"""The simulated Zigbee2MQTT bridge publishes its device list first, retained, as the real one."""

from __future__ import annotations

from dataclasses import replace
from itertools import islice

import orjson

from device_sims.encode import OutputFormat
from device_sims.engine import simulate
from device_sims.households.home_kit import kit_sensors
from device_sims.scenario import load_scenario


def test_the_bridge_lists_every_kit_sensor_first_and_retained() -> None:
    scenario = load_scenario("small-community").with_overrides(
        duration_s=600, fmt=OutputFormat.ZIGBEE2MQTT
    )
    (first,) = islice(simulate(scenario), 1)
    assert (first.topic, first.retain, first.qos) == ("zigbee2mqtt/bridge/devices", True, 1)
    entries = orjson.loads(first.payload)
    assert entries[0]["type"] == "Coordinator"
    names = [e["friendly_name"] for e in entries[1:]]
    assert names == [s.friendly_name for h in scenario.households for s in kit_sensors(h)]
    assert len({e["ieee_address"] for e in entries}) == len(entries)
    described = {e["friendly_name"]: e["definition"]["description"] for e in entries[1:]}
    assert described["Room 1-402 bed"] != described["Room 1-402 chair"]


def test_native_households_publish_no_bridge_list() -> None:
    scenario = load_scenario("small-community").with_overrides(duration_s=600)
    native = {h: OutputFormat.NATIVE for h in scenario.household_formats}
    messages = simulate(replace(scenario, household_formats=native))
    assert all("bridge" not in m.topic for m in islice(messages, 2000))
