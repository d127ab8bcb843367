"""Which metric a device's chart opens on, and which metrics are on/off states.

A manager opening a tank wants its level, not whatever metric sorts first ("inlet_open"). Each
kind names the metrics that say most about it, best first (the first with data wins); a device
of another kind (or one with no data for those) opens on its first metric with data that is not
an on/off state, then on any metric with data, then on any metric it has.

On/off metrics (a door, a valve, a pump running) are drawn as states with their two words, not
as a line between 0 and 1.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from i18n.languages import NC_

#: Per device kind, the metrics to open its chart on, best first.
PRIMARY: Mapping[str, tuple[str, ...]] = {
    "water_tank": ("level_pct",),
    "booster_pump": ("pressure_bar", "current_a"),
    "climate_sensor": ("temperature_c", "humidity_pct"),
    "equipment_room": ("temperature_c", "humidity_pct"),
    "street_light": ("power_w",),
    "elevator": ("door_open_s", "trips"),
    "electricity_meter": ("power_w", "energy_kwh"),
    "meter": ("power_w", "energy_kwh"),
    "smart_plug": ("power_w", "energy_kwh"),
    "water_meter": ("flow_lpm", "water_m3"),
    "card_reader": ("granted_count", "denied_count"),
    "face_gate": ("granted_count", "denied_count"),
    "door_sensor": ("door_open",),
    "unit_door": ("door_open",),
    "motion_sensor": ("occupancy",),
    "smoke_detector": ("smoke",),
    "leak_detector": ("water_leak",),
}


@dataclass(frozen=True, slots=True)
class StateWords:
    """The words for a 0/1 metric's two states (msgids in the "state" context)."""

    on: str
    off: str


#: Metrics that are 0/1 states, with their words.
STATES: Mapping[str, StateWords] = {
    "door_open": StateWords(NC_("state", "Open"), NC_("state", "Closed")),
    "inlet_open": StateWords(NC_("state", "Open"), NC_("state", "Closed")),
    "running": StateWords(NC_("state", "Running"), NC_("state", "Stopped")),
    "on": StateWords(NC_("state", "On"), NC_("state", "Off")),
    "state": StateWords(NC_("state", "On"), NC_("state", "Off")),
    "occupancy": StateWords(NC_("state", "Someone there"), NC_("state", "No one")),
    "smoke": StateWords(NC_("state", "Smoke"), NC_("state", "Clear")),
    "water_leak": StateWords(NC_("state", "Water"), NC_("state", "Dry")),
}


def is_state(metric: str) -> bool:
    return metric in STATES


def primary_metric(
    kind: str | None, metrics: Collection[str], with_data: Collection[str]
) -> str | None:
    """The metric a chart of a device of `kind` opens on, of those it has (`metrics`, in their
    listed order; `with_data`: those with at least one reading)."""
    for wanted in PRIMARY.get(kind or "", ()):
        if wanted in with_data:
            return wanted
    ordered = list(metrics)
    for candidates in (
        [m for m in ordered if m in with_data and not is_state(m)],
        [m for m in ordered if m in with_data],
        ordered,
    ):
        if candidates:
            return candidates[0]
    return None
