"""Simulated households as the rules engine sees them: messages decoded by ingest, in batches.

The simulator runs in-process (no broker); every message goes through `ingest.decoders.decode`
as ingest would decode it, Zigbee2MQTT friendly names mapped to the kit's device ids as the
registry maps them, so the rules see exactly the readings, events and statuses the store holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from device_sims.encode import OutputFormat
from device_sims.engine import simulate
from device_sims.households.home_kit import HouseholdSpec, kit_sensors
from device_sims.scenario import Scenario, load_scenario
from ingest.decoders import DecodeContext, Decoded, decode
from ingest.inbound import Inbound
from rules.arrays import BatchView, view_of
from rules.directory import DeviceInfo, Directory, HouseholdInfo
from store.devices.catalogue import KINDS
from store.records import DeviceRef, Event, Reading, StatusChange

#: The catalogue kind of each home-kit sensor role (device_sims/households/home_kit.py); its
#: household role is the kind's, as the store's `household_device_roles` gives it.
KIT_KINDS = {
    "pir": "motion_sensor",
    "door": "door_contact",
    "bed": "bed_sensor",
    "chair": "seat_sensor",
    "water": "water_flow_sensor",
    "kettle": "smart_plug",
    "sos": "sos_button",
}


@dataclass(frozen=True, slots=True)
class Batch:
    end: datetime
    view: BatchView


def households_only(
    scenario: Scenario, days: float | None = None, incidents: bool = True
) -> Scenario:
    """The scenario's homes alone (facility devices dropped: the care rules never see them)."""
    faults = tuple(f for f in scenario.faults if incidents and f.target in _household_ids(scenario))
    out = replace(scenario, devices=(), faults=faults)
    return out if days is None else out.with_overrides(duration_s=days * 86_400.0)


def devices_only(scenario: Scenario, *ids: str) -> Scenario:
    """The scenario's facility devices `ids` alone, with their faults (no homes)."""
    devices = tuple(d for d in scenario.devices if d.id in ids)
    faults = tuple(f for f in scenario.faults if f.target in ids)
    return replace(scenario, devices=devices, households=(), faults=faults)


def _household_ids(scenario: Scenario) -> set[str]:
    return {h.id for h in scenario.households}


#: The catalogue kind ingest infers for each simulated facility device from its messages
#: (ingest/kinds.py): an equipment room's temperature and humidity make a `climate_sensor`, a
#: unit door's contact a `door_contact`, a face gate's counts a `gate_reader`.
FACILITY_KINDS = {
    "water_tank": "water_tank",
    "booster_pump": "booster_pump",
    "elevator": "elevator",
    "equipment_room": "climate_sensor",
    "street_light": "street_light",
    "smoke_detector": "smoke_detector",
    "leak_detector": "leak_detector",
    "electricity_meter": "electricity_meter",
    "water_meter": "water_meter",
    "card_reader": "gate_reader",
    "face_gate": "gate_reader",
    "unit_door": "door_contact",
}


def directory_of(scenario: Scenario, timezone: str | None = None) -> Directory:
    """The households and their sensors with their kinds and roles, as the store would list
    them once the bridge's device list was read (`household_device_roles`), and the facility
    devices with the kinds ingest infers for them."""
    zone = timezone or scenario.site.tz.key
    site = scenario.site.id
    return Directory.of(
        households=[
            HouseholdInfo(
                site, h.id, h.label, zone, devices=tuple(s.device for s in kit_sensors(h))
            )
            for h in scenario.households
        ],
        devices=[
            DeviceInfo(
                site,
                s.device,
                KIT_KINDS[s.role],
                role=KINDS[KIT_KINDS[s.role]].household_role,
                role_room=s.room,
            )
            for h in scenario.households
            for s in kit_sensors(h)
        ]
        + [DeviceInfo(site, d.id, FACILITY_KINDS[d.kind]) for d in scenario.devices],
        site_timezones={site: zone},
    )


def kit_devices(spec: HouseholdSpec) -> list[str]:
    return [s.device for s in kit_sensors(spec)]


def decode_context(scenario: Scenario) -> DecodeContext:
    source = f"zigbee2mqtt:{scenario.z2m_base}"
    aliases = {
        (source, s.friendly_name): DeviceRef(scenario.site.id, s.device)
        for h in scenario.households
        if scenario.household_formats.get(h.id) is OutputFormat.ZIGBEE2MQTT
        for s in kit_sensors(h)
    }
    return DecodeContext(zigbee2mqtt_bases={scenario.z2m_base: scenario.site.id}, aliases=aliases)


def batches(scenario: Scenario, batch_s: float = 300.0) -> Iterator[Batch]:
    """Decoded messages grouped into consecutive `batch_s` windows of simulated time, each with
    its end as `now`; an empty window is an empty view (a timer tick)."""
    context = decode_context(scenario)
    start = scenario.start.timestamp()
    edge = start + batch_s
    readings: list[Reading] = []
    events: list[Event] = []
    statuses: list[StatusChange] = []
    for message in simulate(scenario):
        while message.ts >= edge:
            yield Batch(_utc(edge), view_of(readings, events, statuses))
            readings, events, statuses = [], [], []
            edge += batch_s
        when = _utc(message.ts)
        result = decode(Inbound(message.topic, message.payload, when), context)
        if isinstance(result, Decoded):
            readings += result.readings
            events += result.events
            statuses += result.statuses
    end = scenario.end.timestamp()
    while edge <= end + 1e-6:
        yield Batch(_utc(edge), view_of(readings, events, statuses))
        readings, events, statuses = [], [], []
        edge += batch_s


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def community(name: str = "small-community") -> Scenario:
    return load_scenario(name)
