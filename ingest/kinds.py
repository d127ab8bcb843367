"""Device kind inference: which metric names or payload keys reveal what a device is.

The kinds are codes of the catalogue (store/devices/catalogue.py). What a message suggests only
fills a kind nobody gave yet; a gateway's device description (Zigbee2MQTT `bridge/devices`) may
suggest better, and a kind a person confirmed is never replaced.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

# A rule is (names that must all be present, kind). The first matching rule wins, so specific
# rules come first: a leak detector also reports a temperature, a pump also a current. No match
# means the message says nothing about the kind, and the registry keeps what it knew.
KindRule = tuple[frozenset[str], str]

#: Native telemetry (and SenML packs on native topics), by metric name.
NATIVE_RULES: tuple[KindRule, ...] = (
    (frozenset({"water_leak"}), "leak_detector"),
    (frozenset({"smoke"}), "smoke_detector"),
    # Before door_open: an elevator reports its doors too.
    (frozenset({"trips"}), "elevator"),
    (frozenset({"level_pct"}), "water_tank"),
    (frozenset({"pressure_bar", "current_a"}), "booster_pump"),
    (frozenset({"granted_count"}), "gate_reader"),
    (frozenset({"door_open"}), "door_contact"),
    (frozenset({"occupancy"}), "motion_sensor"),
    # Before energy_kwh: a street light and a plug meter their energy as a meter does.
    (frozenset({"on", "power_w"}), "street_light"),
    (frozenset({"state", "power_w"}), "smart_plug"),
    (frozenset({"water_m3"}), "water_meter"),
    (frozenset({"flow_lpm"}), "water_flow_sensor"),
    (frozenset({"energy_kwh"}), "electricity_meter"),
    (frozenset({"temperature_c"}), "climate_sensor"),
    (frozenset({"humidity_pct"}), "climate_sensor"),
)

#: Zigbee2MQTT messages, by the keys of the payload as Zigbee2MQTT names them.
ZIGBEE2MQTT_RULES: tuple[KindRule, ...] = (
    (frozenset({"contact"}), "door_contact"),
    (frozenset({"occupancy"}), "motion_sensor"),
    (frozenset({"water_leak"}), "leak_detector"),
    (frozenset({"smoke"}), "smoke_detector"),
    (frozenset({"action"}), "button"),
    (frozenset({"flow"}), "water_flow_sensor"),
    (frozenset({"power"}), "smart_plug"),
    (frozenset({"energy"}), "smart_plug"),
    # Last, so that only a device reporting nothing more specific is a climate sensor.
    (frozenset({"temperature"}), "climate_sensor"),
    (frozenset({"humidity"}), "climate_sensor"),
)


#: Native events whose type says what sent them. Access events are not here: card readers, face
#: gates and unit doors all send them.
EVENT_KINDS: Mapping[str, str] = {
    "sos": "sos_button",
    "fall": "fall_detector",
    "bed_occupied": "bed_sensor",
    "bed_vacant": "bed_sensor",
    "seat_occupied": "seat_sensor",
    "seat_vacant": "seat_sensor",
    "appliance_on": "smart_plug",
    # A native door contact may send only its events (no `door_open` reading); a unit door
    # that does is suggested a door contact by its reading anyway, until people say more.
    "door_open": "door_contact",
    "door_closed": "door_contact",
    "appliance_off": "smart_plug",
    "pump_start": "booster_pump",
    "pump_stop": "booster_pump",
    "elevator_trip": "elevator",
    "smoke": "smoke_detector",
    "water_leak": "leak_detector",
}


def infer_kind(names: Collection[str], rules: tuple[KindRule, ...]) -> str | None:
    present = set(names)
    for required, kind in rules:
        if required <= present:
            return kind
    return None
