"""A scenario made runnable: device models, home kits, encoder endpoints and faults, all seeded."""

from __future__ import annotations

from dataclasses import dataclass

from device_sims.devices import KINDS, DeviceModel
from device_sims.emissions import Emission, Published, StatusChange
from device_sims.encode import Encoder, Endpoint, OutputFormat
from device_sims.faults import HOUSEHOLD, SignalFaults, scheduled_statuses
from device_sims.households.home_kit import ROLES, Household, kit_sensors
from device_sims.scenario import Scenario
from device_sims.seeding import rng_for
from device_sims.zigbee_devices import device_list
from ingest.wire import Status

Source = DeviceModel | Household


@dataclass(frozen=True, slots=True)
class Community:
    sources: tuple[Source, ...]
    encoder: Encoder
    signal_faults: dict[str, SignalFaults]
    #: Emissions fixed in advance: every device's retained `online` at the start, the
    #: Zigbee2MQTT bridge's retained device list, and the offline/online statuses of dropout
    #: faults.
    scheduled: tuple[Emission, ...]


def build(scenario: Scenario, qos: int = 1) -> Community:
    t0 = scenario.start.timestamp()
    sources: list[Source] = []
    endpoints: dict[str, Endpoint] = {}
    scheduled: list[Emission] = [StatusChange(t0, scenario.gateway, Status.ONLINE)]
    for spec in scenario.devices:
        faults = [f for f in scenario.faults if f.target == spec.id]
        model = KINDS[spec.kind](spec, scenario.site, rng_for(scenario.seed, spec.id), faults)
        sources.append(model)
        scheduled.append(StatusChange(t0, spec.id, Status.ONLINE))
    zigbee: list[tuple[str, str, str]] = []
    for hh in scenario.households:
        incidents = [f for f in scenario.faults if f.target == hh.id and f.kind in HOUSEHOLD]
        home = Household(hh, scenario.site, rng_for(scenario.seed, hh.id), incidents)
        sources.append(home)
        fmt = scenario.household_formats.get(hh.id, OutputFormat.NATIVE)
        for sensor in kit_sensors(hh):
            if fmt is OutputFormat.ZIGBEE2MQTT:
                endpoints[sensor.device] = Endpoint(
                    sensor.device, fmt, sensor.friendly_name, ROLES[sensor.role]
                )
                # A bed mat and a chair mat both report occupancy; their models differ.
                listed = "bed" if sensor.role == "bed" else ROLES[sensor.role]
                zigbee.append((sensor.device, sensor.friendly_name, listed))
            scheduled.append(StatusChange(t0, sensor.device, Status.ONLINE))
    if zigbee:
        # Published before the devices speak, as the bridge does on start (retained).
        payload = device_list(zigbee, scenario.seed)
        topic = f"{scenario.z2m_base}/bridge/devices"
        scheduled.insert(0, Published(t0, scenario.gateway, topic, payload, "zigbee2mqtt_bridge"))
    signal: dict[str, SignalFaults] = {}
    for fault in scenario.faults:
        applied = SignalFaults([f for f in scenario.faults if f.target == fault.target])
        if applied:
            signal[fault.target] = applied
        scheduled.extend(scheduled_statuses(fault))
    encoder = Encoder(
        scenario.site.id, scenario.site.tz, endpoints, scenario.format,
        scenario.z2m_base, qos, scenario.seed,
    )  # fmt: skip
    return Community(tuple(sources), encoder, signal, tuple(scheduled))
