"""Provision the store from a simulator scenario: the site with its time zone, its buildings,
the households (with the building each is in), which devices belong to each and the role each
plays there (as its installer would set them), and (for demos and tests) people assigned to them.

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
from store.devices.catalogue import Role
from store.places import provisioning

#: The household role of each home-kit sensor (device_sims/households/home_kit.py ROLES).
KIT_ROLES: Mapping[str, Role] = {
    "pir": Role.MOTION,
    "door": Role.FRONT_DOOR,
    "bed": Role.BED,
    "chair": Role.SEAT,
    "water": Role.APPLIANCE,
    "kettle": Role.APPLIANCE,
    "sos": Role.SOS,
}


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str
    kind: str  # volunteer | staff | manager
    #: (role, household or None): primary/backup with a household, staff/manager without.
    roles: Sequence[tuple[str, str | None]]
    language: str = "zh-CN"
    channels: Mapping[str, object] = field(default_factory=dict)


def household_roles(scenario: Scenario) -> dict[str, dict[str, tuple[str, str | None]]]:
    """household id -> the device ids its sensors have in the store -> (role, room)."""
    found: dict[str, dict[str, tuple[str, str | None]]] = {}
    for spec in scenario.households:
        z2m = scenario.household_formats.get(spec.id) is OutputFormat.ZIGBEE2MQTT
        found[spec.id] = {
            derived_device_id(s.friendly_name) if z2m else s.device: (
                KIT_ROLES[s.role],
                _ROOMS.get(s.room or "", s.room),
            )
            for s in kit_sensors(spec)
        }
    return found


#: The simulator's room names that the catalogue spells otherwise.
_ROOMS = {"living": "living_room"}


def provision(
    conn: psycopg.Connection[TupleRow], scenario: Scenario, people: Sequence[Person] = ()
) -> None:
    """Create or update the scenario's site, buildings, households and people, in one
    transaction. Scenarios name buildings by id only: the id is their name too."""
    site = scenario.site.id
    with conn.transaction():
        provisioning.upsert_site(conn, site, scenario.site_name, scenario.site.tz.key)
        for building in scenario.buildings:
            provisioning.upsert_building(conn, site, building.id, building.id, building.floors)
        roles = household_roles(scenario)
        for spec in scenario.households:
            provisioning.upsert_household(
                conn, site, spec.id, spec.label, building_id=spec.building
            )
            provisioning.set_household_devices(conn, site, spec.id, list(roles[spec.id]))
            provisioning.set_household_roles(conn, site, roles[spec.id])
        for person in people:
            provisioning.upsert_person(
                conn, person.id, person.name, person.kind,
                language=person.language, channels=person.channels,
            )  # fmt: skip
            for role, household in person.roles:
                provisioning.assign(conn, person.id, site, role, household)
