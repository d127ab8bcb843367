"""A household's home kit: turns each day's plan into what its sensors emit, day by day."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np

from device_sims.devices.base import Site
from device_sims.emissions import Emission, Event, Telemetry
from device_sims.faults import Fault
from device_sims.households.incidents import apply_incidents
from device_sims.households.routine import (
    IN_BED,
    STILL,
    Activity,
    draw_profile,
    local_midnight,
    plan_day,
)

#: Sensor roles a kit can have, with the Zigbee2MQTT device class each maps to.
ROLES: Mapping[str, str] = {
    "pir": "motion",
    "door": "contact",
    "bed": "occupancy",
    "chair": "occupancy",
    "water": "flow",
    "kettle": "plug",
    "sos": "sos",
}
BATTERY_ROLES = frozenset({"pir", "door", "bed", "chair", "sos"})
#: Zigbee2MQTT clears PIR occupancy this long after the last detection (its default timeout).
OCCUPANCY_TIMEOUT_S = 90.0
#: Xiaomi/Aqara sensors check in about every 50 min; the heartbeat carries the battery.
HEARTBEAT_S = 3000.0


@dataclass(frozen=True, slots=True)
class Sensor:
    device: str
    role: str  # a key of ROLES
    room: str | None
    friendly_name: str


@dataclass(frozen=True, slots=True)
class HouseholdSpec:
    id: str
    label: str
    rooms: tuple[str, ...]
    fitted: frozenset[str]  # roles other than pir
    routine: Mapping[str, float] = field(default_factory=dict)
    #: The scenario building it is in, if said.
    building: str | None = None


def kit_sensors(spec: HouseholdSpec) -> list[Sensor]:
    names = {
        "door": "front door",
        "bed": "bed",
        "chair": "chair",
        "water": "water flow",
        "kettle": "kettle plug",
        "sos": "SOS button",
    }
    sensors = [
        Sensor(f"{spec.id}-pir-{room}", "pir", room, f"{spec.label} {room} motion")
        for room in spec.rooms
    ]
    for role in ("door", "bed", "chair", "water", "kettle", "sos"):
        if role in spec.fitted:
            sensors.append(Sensor(f"{spec.id}-{role}", role, None, f"{spec.label} {names[role]}"))
    return sensors


class Household:
    """The engine source for one home: wakes at each local midnight and emits that whole day."""

    def __init__(
        self, spec: HouseholdSpec, site: Site, rng: np.random.Generator, incidents: Sequence[Fault]
    ) -> None:
        self.id = spec.id
        self.spec = spec
        self.site = site
        self.rng = rng
        self.incidents = tuple(incidents)
        self.profile = draw_profile(rng, spec.routine)
        self.sensors = kit_sensors(spec)
        self.by_role = {
            s.role if s.room is None else f"pir_{s.room}": s.device for s in self.sensors
        }
        self.battery = {
            s.device: float(rng.uniform(60.0, 100.0))
            for s in self.sensors
            if s.role in BATTERY_ROLES
        }
        self.phase = {d: float(rng.uniform(0.0, HEARTBEAT_S)) for d in self.battery}
        self.first_offset_s = 0.0
        self.away = False
        self.in_bed = True
        self.in_chair = False
        self.energy_kwh = float(rng.uniform(5.0, 60.0))
        self.plans: list[list[Activity]] = []  # kept only when `keep_plans` (statistics tests)
        self.keep_plans = False

    def wake(self, t: float) -> tuple[list[Emission], float]:
        day = datetime.fromtimestamp(t, self.site.tz).date()
        start = local_midnight(day, self.site.tz)
        end = local_midnight(date.fromordinal(day.toordinal() + 1), self.site.tz)
        acts = plan_day(self.profile, day, self.site.tz, self.rng)
        acts = apply_incidents(acts, self.incidents, start, end)
        if self.keep_plans:
            self.plans.append(acts)
        out: list[Emission] = []
        for act in acts:
            out.extend(self._activity(act))
        out.extend(self._sos(start, end))
        out.extend(self._heartbeats(start, end))
        return [e for e in out if e.ts >= t], end

    def _activity(self, act: Activity) -> list[Emission]:
        out: list[Emission] = []
        u = self.rng.uniform
        away = act.kind in ("out", "away")
        door = self.by_role.get("door")
        if away != self.away and door is not None:
            closed = round(act.start + float(u(4.0, 12.0)), 3)
            out += [Event(act.start, door, "door_open"), Event(closed, door, "door_closed")]
        self.away = away
        in_bed = act.kind in IN_BED and act.room == "bedroom"
        if in_bed != self.in_bed and "bed" in self.by_role:
            out.append(Telemetry(act.start, self.by_role["bed"], {"occupancy": in_bed}))
        self.in_bed = in_bed
        in_chair = act.room == "living" and act.kind in ("living", "nap")
        if in_chair != self.in_chair and "chair" in self.by_role:
            out.append(Telemetry(act.start, self.by_role["chair"], {"occupancy": in_chair}))
        self.in_chair = in_chair
        pir = self.by_role.get(f"pir_{act.room}")
        if pir is not None and act.kind not in STILL:
            out.extend(self._motion(pir, act))
        water = self.by_role.get("water")
        if water is not None:
            out.extend(self._water(water, act))
        kettle = self.by_role.get("kettle")
        if kettle is not None and act.kettle:
            on = act.start + float(u(60.0, 240.0))
            secs = float(u(150.0, 240.0))
            watts = float(u(1750.0, 2000.0))
            out.append(
                Telemetry(
                    round(on, 3),
                    kettle,
                    {"power_w": round(watts, 1), "energy_kwh": round(self.energy_kwh, 3)},
                )
            )
            self.energy_kwh += watts * secs / 3_600_000.0
            out.append(
                Telemetry(
                    round(on + secs, 3),
                    kettle,
                    {"power_w": 0.0, "energy_kwh": round(self.energy_kwh, 3)},
                )
            )
        return out

    def _motion(self, pir: str, act: Activity) -> list[Emission]:
        # A PIR re-arms 60 s after a detection; someone sitting (TV, reading) triggers it
        # every few minutes, someone busy in a kitchen or bathroom at almost every re-arm.
        mean_gap = 300.0 if act.kind == "living" else 45.0
        t = act.start + float(self.rng.uniform(2.0, 20.0))
        out: list[Emission] = []
        last = None
        while t < act.end:
            out.append(Event(round(t, 3), pir, "motion"))
            last = t
            t += 60.0 + float(self.rng.exponential(mean_gap))
        if last is not None:
            out.append(Telemetry(round(last + OCCUPANCY_TIMEOUT_S, 3), pir, {"occupancy": False}))
        return out

    def _water(self, water: str, act: Activity) -> list[Emission]:
        u = self.rng.uniform
        if act.kind == "wash":
            on, secs, lpm = (
                act.start + float(u(20.0, 60.0)),
                float(u(60.0, 300.0)),
                float(u(4.0, 8.0)),
            )
        elif act.kind in ("bathroom", "toilet_night"):
            on, secs, lpm = max(act.start, act.end - 60.0), 40.0, 9.0  # a 6 L flush
        elif act.kind == "meal":
            on, secs, lpm = act.start + float(u(60.0, 300.0)), float(u(30.0, 90.0)), 5.0
        else:
            return []
        return [
            Telemetry(round(on, 3), water, {"flow_lpm": round(lpm, 2)}),
            Telemetry(round(on + secs, 3), water, {"flow_lpm": 0.0}),
        ]

    def _sos(self, start: float, end: float) -> list[Emission]:
        device = self.by_role.get("sos")
        if device is None:
            return []
        return [
            Event(f.start, device, "sos", attrs={"button": "emergency"})
            for f in self.incidents
            if f.kind == "sos" and start <= f.start < end
        ]

    def _heartbeats(self, start: float, end: float) -> list[Emission]:
        out: list[Emission] = []
        for device, phase in self.phase.items():
            t = start + phase
            while t < end:
                # ~1 %/week: a CR2032 in a Zigbee sensor lasts about two years.
                self.battery[device] = max(0.0, self.battery[device] - 0.0015)
                out.append(
                    Telemetry(
                        round(t, 3), device, {"battery_pct": float(round(self.battery[device]))}
                    )
                )
                t += HEARTBEAT_S
        return out
