"""Tests for ingest/decoders/zigbee2mqtt.py: each trap of shared/formats/TRAPS.md, as tables."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from ingest.decoders import zigbee2mqtt
from ingest.decoders.result import DecodeContext, Decoded, DecodeResult, Ignored, Rejected
from ingest.wire import ID_PATTERN
from store.records import Alias, DeviceRef, Event, Reading, StatusChange

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BALCONY = DeviceRef("site-9", "balcony-th")
CONTEXT = DecodeContext(
    zigbee2mqtt_bases={"zigbee2mqtt": "site-a", "home/z2m": "site-h"},
    aliases={
        ("zigbee2mqtt:zigbee2mqtt", "Temperatur Balkon"): BALCONY,
        ("zigbee2mqtt:zigbee2mqtt", "z1"): DeviceRef("site-a", "plug-1"),
    },
)


def run(topic: str, payload: str) -> DecodeResult:
    base = zigbee2mqtt.match_base(topic, CONTEXT.zigbee2mqtt_bases)
    assert base is not None
    return zigbee2mqtt.decode(base, topic[len(base) + 1 :], payload, NOW, CONTEXT)


def values(result: DecodeResult) -> dict[str, float]:
    assert isinstance(result, Decoded), result
    return {r.metric: r.value for r in result.readings}


def events(result: DecodeResult) -> list[tuple[str, dict[str, object]]]:
    assert isinstance(result, Decoded), result
    return [(e.type, e.attrs) for e in result.events]


def sha8(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()[:8]


@pytest.mark.parametrize(
    ("topic", "bases", "expected"),
    [
        ("zigbee2mqtt/x", {"zigbee2mqtt": "s"}, "zigbee2mqtt"),
        ("zigbee2mqttx/x", {"zigbee2mqtt": "s"}, None),
        ("zigbee2mqtt", {"zigbee2mqtt": "s"}, None),
        ("home/z2m/x", {"home": "s", "home/z2m": "t"}, "home/z2m"),
        ("home/lamp", {"home": "s", "home/z2m": "t"}, "home"),
    ],
)
def test_match_base(topic: str, bases: dict[str, str], expected: str | None) -> None:
    assert zigbee2mqtt.match_base(topic, bases) == expected


# --- Trap 2: friendly names with spaces, non-ASCII and "/" -------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("0x00158d0007ef997c", "z2m-0x00158d0007ef997c"),
        ("KeukenMotionSensorMS4", "z2m-KeukenMotionSensorMS4"),
        ("Capteur Ouverture porte entrée",
         "z2m-Capteur-Ouverture-porte-entree-" + sha8("Capteur Ouverture porte entrée")),
        ("livingroom/door", "z2m-livingroom-door-" + sha8("livingroom/door")),
        ("入口", "z2m-" + sha8("入口")),
        ("x" * 60, "z2m-" + "x" * 60),
        ("x" * 61, "z2m-" + "x" * 51 + "-" + sha8("x" * 61)),
    ],
)  # fmt: skip
def test_derived_device_id(name: str, expected: str) -> None:
    device = zigbee2mqtt.derived_device_id(name)
    assert device == expected
    assert ID_PATTERN.fullmatch(device)


def test_derived_device_ids_differ_where_slugs_collide() -> None:
    assert zigbee2mqtt.derived_device_id("Küche 1") != zigbee2mqtt.derived_device_id("Kuche/1")


def test_unknown_friendly_name_gets_a_derived_device_and_an_alias() -> None:
    name = "Capteur Ouverture porte entrée"
    result = run(f"zigbee2mqtt/{name}", '{"contact": true}')
    device = zigbee2mqtt.derived_device_id(name)
    assert result == Decoded(
        readings=(Reading("site-a", device, "door_open", NOW, 0.0),),
        aliases=(Alias("zigbee2mqtt:zigbee2mqtt", name, "site-a", device),),
        kinds=((DeviceRef("site-a", device), "door_contact"),),
    )


def test_registered_friendly_name_maps_to_its_device_without_a_new_alias() -> None:
    result = run("zigbee2mqtt/Temperatur Balkon", '{"temperature": 7.1, "humidity": 67}')
    assert result == Decoded(
        readings=(
            Reading("site-9", "balcony-th", "temperature_c", NOW, 7.1),
            Reading("site-9", "balcony-th", "humidity_pct", NOW, 67.0),
        ),
        kinds=((BALCONY, "climate_sensor"),),
    )


def test_nested_base_and_name_with_slashes() -> None:
    result = run("home/z2m/Ground floor/hall", '{"battery": 90}')
    assert isinstance(result, Decoded)
    assert result.aliases[0].name == "Ground floor/hall"
    assert result.readings[0].site == "site-h"


# --- Traps 1, 3 and 5: values ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        # 1. contact is inverted: true means closed.
        ('{"contact": true}', {"door_open": 0.0}),
        ('{"contact": false}', {"door_open": 1.0}),
        # 3. numeric strings, nulls, nested objects, ON/OFF, free text.
        ('{"battery": "100.00", "voltage": 3035}', {"battery_pct": 100.0, "voltage_mv": 3035.0}),
        ('{"battery": null, "linkquality": 90}', {"linkquality": 90.0}),
        ('{"update": {"state": null}, "device": {"id": 1}, "color": {"x": 0.3}, "a": [1]}', {}),
        ('{"state": "ON", "state_l2": "OFF", "mode": "high", "child_lock": "UNLOCK"}',
         {"state": 1.0, "state_l2": 0.0}),
        ('{"battery": " 42 ", "x": "NaN", "y": "inf", "z": "1_000"}', {"battery_pct": 42.0}),
        ('{"water_leak": true, "smoke": false, "tamper": true, "battery_low": false}',
         {"water_leak": 1.0, "smoke": 0.0, "tamper": 1.0, "battery_low": 0.0}),
        ('{"temperature": 21.5, "humidity": 40, "pressure": 994, "illuminance_lux": 3}',
         {"temperature_c": 21.5, "humidity_pct": 40.0, "pressure_hpa": 994.0,
          "illuminance_lux": 3.0}),
        # voltage is millivolts on battery devices, volts on metering plugs.
        ('{"power": 5, "energy": 1.5, "current": 0.1, "voltage": 239}',
         {"power_w": 5.0, "energy_kwh": 1.5, "current_a": 0.1, "voltage_v": 239.0}),
        # Keys become metric names; unknown numeric keys keep their sanitised name.
        ('{"Switch:0": 1, "smoke_density": 2, "€": 3}', {"switch_0": 1.0, "smoke_density": 2.0}),
        # 5. occupancy false is Zigbee2MQTT's own timeout: not stored.
        ('{"occupancy": true}', {"occupancy": 1.0}),
        ('{"occupancy": false, "battery": 100}', {"battery_pct": 100.0}),
        # last_seen is the message's time, not a reading.
        ('{"last_seen": "2026-03-01T19:59:00+08:00", "linkquality": 5}', {"linkquality": 5.0}),
    ],
)  # fmt: skip
def test_values(payload: str, expected: dict[str, float]) -> None:
    if not expected:
        assert isinstance(run("zigbee2mqtt/dev", payload), Ignored)
    else:
        assert values(run("zigbee2mqtt/dev", payload)) == expected


@pytest.mark.parametrize(
    ("last_seen", "expected"),
    [
        (None, NOW),
        ('"2026-03-01T19:59:00+08:00"', NOW - timedelta(minutes=1)),
        ('"2026-03-01T11:59:00.000Z"', NOW - timedelta(minutes=1)),
        ("1772366340000", NOW - timedelta(minutes=1)),  # epoch milliseconds
    ],
)
def test_last_seen_is_the_time_of_readings_and_events(
    last_seen: str | None, expected: datetime
) -> None:
    field = f'"last_seen": {last_seen}, ' if last_seen else ""
    result = run("zigbee2mqtt/dev", "{" + field + '"action": "single", "linkquality": 1}')
    assert isinstance(result, Decoded)
    assert {r.ts for r in result.readings} | {e.ts for e in result.events} == {expected}


# --- Trap 4: action is transient; per-attribute topics echo the JSON ----------------------------


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ('{"action": "emergency"}', [("sos", {"action": "emergency"})]),
        ('{"action": "SOS"}', [("sos", {"action": "SOS"})]),
        ('{"action": "panic", "linkquality": 1}', [("sos", {"action": "panic"})]),
        ('{"action": "single"}', [("button", {"action": "single"})]),
        ('{"action": "double", "occupancy": true}',
         [("button", {"action": "double"}), ("motion", {})]),
        ('{"action": "", "linkquality": 90}', []),
        ('{"action": null, "linkquality": 90}', []),
        ('{"occupancy": true}', [("motion", {})]),
        ('{"occupancy": false, "linkquality": 1}', []),
        ('{"contact": false}', []),
    ],
)  # fmt: skip
def test_events(payload: str, expected: list[tuple[str, dict[str, object]]]) -> None:
    assert events(run("zigbee2mqtt/dev", payload)) == expected


def test_sos_then_reset_raises_one_sos() -> None:
    first = run("zigbee2mqtt/0x847127fffe0542eb", '{"action":"emergency","battery":null}')
    reset = run("zigbee2mqtt/0x847127fffe0542eb", '{"action":"","battery":null,"linkquality":90}')
    assert events(first) + events(reset) == [("sos", {"action": "emergency"})]


def test_event_carries_the_device() -> None:
    result = run("zigbee2mqtt/Temperatur Balkon", '{"action": "single"}')
    assert isinstance(result, Decoded)
    assert result.events == (
        Event("site-9", "balcony-th", NOW, "button", None, {"action": "single"}),
    )


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("zigbee2mqtt/0x847127fffe0542eb/action", "emergency"),
        ("zigbee2mqtt/z1/power", "0"),
        ("zigbee2mqtt/z1/state", "OFF"),
        ("zigbee2mqtt/z1/update", '{"installed_version": 268449287, "state": "idle"}'),
        ("zigbee2mqtt/z1/anything", '{"a": 1}'),  # "z1" is registered: a child topic echoes it
        ("zigbee2mqtt/Kitchen lamp/color", '{"x": 0.3, "y": 0.3}'),
        ("zigbee2mqtt/dev", "42"),
        ("zigbee2mqtt/dev", '"text"'),
        ("zigbee2mqtt/dev", "[1, 2]"),
    ],
)
def test_per_attribute_echoes_are_ignored(topic: str, payload: str) -> None:
    result = run(topic, payload)
    assert isinstance(result, Ignored), result
    assert result.reason.startswith("per-attribute echo on")


# --- Trap 6 and other topics: availability, bridge, commands -----------------------------------


@pytest.mark.parametrize(
    ("payload", "online"),
    [('{"state":"online"}', True), ('{"state":"offline"}', False), ("online", True),
     ("offline\n", False)],
)  # fmt: skip
def test_availability(payload: str, online: bool) -> None:
    result = run("zigbee2mqtt/Temperatur Balkon/availability", payload)
    assert result == Decoded(statuses=(StatusChange("site-9", "balcony-th", NOW, online),))


def test_availability_of_an_unknown_name_registers_it() -> None:
    result = run("zigbee2mqtt/livingroom/door/availability", "online")
    device = zigbee2mqtt.derived_device_id("livingroom/door")
    assert result == Decoded(
        statuses=(StatusChange("site-a", device, NOW, True),),
        aliases=(Alias("zigbee2mqtt:zigbee2mqtt", "livingroom/door", "site-a", device),),
    )


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("zigbee2mqtt/bridge/state", '{"state":"online"}', "Zigbee2MQTT bridge topic"),
        ("zigbee2mqtt/bridge/devices", "[]", "lists no device besides the coordinator"),
        ("zigbee2mqtt/z1/set", '{"state":"ON"}', "Zigbee2MQTT command topic"),
        ("zigbee2mqtt/z1/set/state", "ON", "Zigbee2MQTT command topic"),
        ("zigbee2mqtt/z1/get", '{"state":""}', "Zigbee2MQTT command topic"),
        ("zigbee2mqtt/dev", '{"update": {"state": "idle"}, "battery": null}', "carries nothing"),
        ("zigbee2mqtt/dev", '{"action": ""}', "carries nothing"),
        ("zigbee2mqtt/dev", '{"occupancy": false}', "carries nothing"),
    ],
)
def test_ignored(topic: str, payload: str, reason: str) -> None:
    result = run(topic, payload)
    assert isinstance(result, Ignored), result
    assert reason in result.reason


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("zigbee2mqtt/dev/availability", "maybe",
         'availability must be "online", "offline" or {"state": "online"}, got "maybe"'),
        ("zigbee2mqtt/dev/availability", '{"state": 1}', "got 1"),
        ("zigbee2mqtt/dev/availability", '{"state": ', "payload is not valid JSON"),
        ("zigbee2mqtt/dev", '{"battery": 1', "payload is not valid JSON: unexpected end of data"),
        ("zigbee2mqtt/dev", '{"battery": "1e999"}', 'value of "battery" is not a finite number'),
        ("zigbee2mqtt/dev", '{"last_seen": "yesterday", "battery": 1}',
         "last_seen: timestamp 'yesterday' is not RFC 3339"),
        ("zigbee2mqtt/dev", '{"last_seen": "2026-03-01T14:00:00Z", "battery": 1}',
         "timestamp 2026-03-01T14:00:00.000Z is 7200 s in the future (tolerance 300 s)"),
        ("zigbee2mqtt/dev", '{"last_seen": 1000, "battery": 1}',
         "older than the retention window of 365 days"),
        ("zigbee2mqtt//dev", '{"battery": 1}', "has no friendly name (or an empty level)"),
        ("zigbee2mqtt/", '{"battery": 1}', "has no friendly name"),
    ],
)  # fmt: skip
def test_rejected(topic: str, payload: str, reason: str) -> None:
    result = run(topic, payload)
    assert isinstance(result, Rejected), result
    assert reason in result.reason


# --- Kinds -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        ('{"contact": true, "battery": 90}', "door_contact"),
        ('{"occupancy": false, "temperature": 25}', "motion_sensor"),
        ('{"water_leak": false, "temperature": 26}', "leak_detector"),
        ('{"smoke": false}', "smoke_detector"),
        ('{"action": "", "linkquality": 1}', "button"),
        ('{"action": "emergency", "battery": 80}', "sos_button"),
        ('{"flow": 3.5}', "water_flow_sensor"),
        ('{"power": 0, "state": "ON"}', "smart_plug"),
        ('{"energy": 1.2}', "smart_plug"),
        ('{"temperature": 7, "humidity": 60, "pressure": 990}', "climate_sensor"),
        ('{"battery": 100, "voltage": 3000}', None),
    ],
)
def test_kind(payload: str, kind: str | None) -> None:
    result = run("zigbee2mqtt/Temperatur Balkon", payload)
    assert isinstance(result, Decoded)
    assert result.kinds == (((BALCONY, kind),) if kind else ())
