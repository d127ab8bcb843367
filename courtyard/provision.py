"""Provision the store from a simulator scenario: the site with its time zone, its buildings,
the households (with the building each is in) and which devices belong to each, and (for demos
and tests) people assigned to them.

Each device is described as people would describe it (store.devices.device_edits, confirmed
facts): the kind of the catalogue its simulator kind is, its building, the names the scenario
gives it, and in a household its role (front door, bed, seat, motion in a room, SOS ...).

A Zigbee2MQTT kit's devices are known to the store by the id ingest derives from their friendly
names, so the household lists those ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import psycopg
from psycopg.rows import TupleRow

from device_sims.encode import OutputFormat
from device_sims.households.home_kit import kit_sensors
from device_sims.scenario import Scenario
from ingest.decoders.zigbee2mqtt import derived_device_id
from store.devices import device_edits
from store.places import provisioning

#: Simulator kind -> the catalogue's kind (store.devices.catalogue).
FACILITY_KINDS: Mapping[str, str] = {
    "water_tank": "water_tank",
    "booster_pump": "booster_pump",
    "elevator": "elevator",
    "street_light": "street_light",
    "equipment_room": "room_climate",
    "smoke_detector": "smoke_detector",
    "leak_detector": "leak_detector",
    "electricity_meter": "electricity_meter",
    "water_meter": "water_meter",
    "card_reader": "gate_reader",
    "face_gate": "face_gate",
    "unit_door": "unit_door",
}
#: A home kit's sensor role -> (kind, household role, the role's room).
SENSOR_FACTS: Mapping[str, tuple[str, str, str | None]] = {
    "door": ("door_contact", "front_door", None),
    "bed": ("bed_sensor", "bed", "bedroom"),
    "chair": ("seat_sensor", "seat", "living_room"),
    "water": ("water_flow_sensor", "appliance", "kitchen"),
    "kettle": ("smart_plug", "appliance", "kitchen"),
    "sos": ("sos_button", "sos", None),
}
#: A simulated motion sensor's room -> the room as the store names it.
ROOMS: Mapping[str, str] = {"living": "living_room"}
#: The simulator's own gateway is a device too (its status tells the link's state).
GATEWAY_KIND = "other"


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str
    kind: str  # volunteer | staff | manager
    #: (role, household or None): primary/backup with a household, staff/manager without.
    roles: Sequence[tuple[str, str | None]]
    language: str = "zh-CN"
    channels: Mapping[str, object] = field(default_factory=dict)


def household_devices(scenario: Scenario) -> dict[str, list[str]]:
    """household id -> the device ids its sensors have in the store."""
    found: dict[str, list[str]] = {}
    for spec in scenario.households:
        z2m = scenario.household_formats.get(spec.id) is OutputFormat.ZIGBEE2MQTT
        found[spec.id] = [
            derived_device_id(s.friendly_name) if z2m else s.device for s in kit_sensors(spec)
        ]
    return found


def provision(
    conn: psycopg.Connection[TupleRow], scenario: Scenario, people: Sequence[Person] = ()
) -> None:
    """Create or update the scenario's site, buildings, households and people, in one
    transaction, and describe its devices (`device_facts`). A building the scenario does not
    name is called by its id."""
    site = scenario.site.id
    with conn.transaction():
        provisioning.upsert_site(conn, site, scenario.site_name, scenario.site.tz.key)
        for building in scenario.buildings:
            names = scenario.building_names.get(building.id, {})
            name = next(iter(names.values()), building.id)
            provisioning.upsert_building(conn, site, building.id, name, building.floors)
        devices = household_devices(scenario)
        for spec in scenario.households:
            provisioning.upsert_household(
                conn, site, spec.id, spec.label, building_id=spec.building
            )
            provisioning.set_household_devices(conn, site, spec.id, devices[spec.id])
        describe(conn, site, device_facts(scenario))
        for person in people:
            provisioning.upsert_person(
                conn, person.id, person.name, person.kind,
                language=person.language, channels=person.channels,
            )  # fmt: skip
            for role, household in person.roles:
                provisioning.assign(conn, person.id, site, role, household)


def device_facts(scenario: Scenario) -> dict[str, dict[str, object]]:
    """Store device id -> the facts people would set for it (device_edits.FIELDS)."""
    facts: dict[str, dict[str, object]] = {}

    def named(sim_id: str) -> dict[str, object]:
        names = dict(scenario.device_names.get(sim_id, {}))
        if not names:
            return {}
        return {"name": names.get("en", next(iter(names.values()))), "names": names}

    for device in scenario.devices:
        facts[device.id] = {
            **named(device.id),
            "kind": FACILITY_KINDS[device.kind],
            "building_id": device.building,
        }
    for spec in scenario.households:
        z2m = scenario.household_formats.get(spec.id) is OutputFormat.ZIGBEE2MQTT
        for sensor in kit_sensors(spec):
            key = derived_device_id(sensor.friendly_name) if z2m else sensor.device
            room: str | None
            if sensor.room is not None:
                kind, role, room = "motion_sensor", "motion", ROOMS.get(sensor.room, sensor.room)
            else:
                kind, role, room = SENSOR_FACTS[sensor.role]
            facts[key] = {
                **named(sensor.device),
                "kind": kind,
                "building_id": spec.building,
                "household_id": spec.id,
                "role": role,
                "role_room": room,
            }
    facts[scenario.gateway] = {**named(scenario.gateway), "kind": GATEWAY_KIND}
    return facts


def describe(
    conn: psycopg.Connection[TupleRow], site: str, facts: Mapping[str, Mapping[str, object]]
) -> None:
    """Set each device's facts as confirmed ones; a scenario whose facts do not check (an
    unknown kind, a name too long) is refused whole, with every reason."""
    known = device_edits.known_ids(conn, site)
    current = device_edits.facts_of(conn, site, list(facts))
    problems = [
        f"{key}: {error.field}: {error.message}"
        for key, values in facts.items()
        for error in device_edits.check_edit(conn, site, current[key], values, known)
    ]
    if problems:
        raise ValueError("the scenario's devices do not check: " + "; ".join(problems))
    for key, values in facts.items():
        unset = _not_set_yet(current[key], values)
        if unset:
            device_edits.apply_edit(conn, site, key, unset)


#: Facts set together: a person's role keeps its room, a person's name its translations.
_PAIRS = (("role", "role_room"), ("name", "names"))


def _not_set_yet(
    current: device_edits.DeviceFacts, values: Mapping[str, object]
) -> dict[str, object]:
    """The facts of `values` nobody has set yet: provisioning again (every `courtyard up
    --demo`) keeps what a manager changed since."""
    unset = {f: v for f, v in values.items() if current.value(f) in (None, "", {})}
    for first, second in _PAIRS:
        if first in values and first not in unset:
            unset.pop(second, None)
    return unset
