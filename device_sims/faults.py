"""Fault injectors: which faults exist, what they target, and the signal faults applied to output.

Three families, all with a start time and an end (`until`, +inf when open-ended):

* physical faults change a device model's physics (a dry-running pump draws less current and
  builds no pressure); the model asks `active(faults, kind, t)` while it integrates;
* signal faults change what any device reports, whatever its physics: a stuck value, a drift, a
  dropout (the device goes silent and its retained status turns offline, as its broker-side last
  will would), a low battery, malformed payloads, a skewed clock; `SignalFaults` applies them to
  each emission just before encoding;
* household incidents change a resident's day plan (see `households/incidents.py`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from device_sims.emissions import Emission, Raw, StatusChange, Telemetry, Value
from ingest.wire import Status

#: physical fault kind -> the device kind it applies to.
PHYSICAL: Mapping[str, str] = {
    "pump_dry_run": "booster_pump",
    "pump_failure": "booster_pump",
    "tank_leak": "water_tank",
    "elevator_door_stuck": "elevator",
    "overheating": "equipment_room",
    "lamp_failure": "street_light",
    "smoke_alarm": "smoke_detector",
    "water_leak": "leak_detector",
}
SIGNAL = frozenset({"stuck_value", "drift", "dropout", "battery_low", "malformed", "clock_skew"})
HOUSEHOLD = frozenset({"no_wake_up", "fall", "night_wandering", "sos", "long_absence"})
ALL_KINDS = frozenset(PHYSICAL) | SIGNAL | HOUSEHOLD

#: How long an incident lasts when its scenario entry gives no duration (else: until the end).
DEFAULT_DURATION_S: Mapping[str, float] = {
    "no_wake_up": 12 * 3600.0,  # until a neighbour or volunteer comes round
    "fall": 6 * 3600.0,
    "night_wandering": 40 * 60.0,
    "long_absence": 2 * 86_400.0,
    "sos": 0.0,
    "smoke_alarm": 30 * 60.0,
    "water_leak": 2 * 3600.0,
    "malformed": 3600.0,
    "clock_skew": 6 * 3600.0,
}

# Malformed payloads cycle through the ways real devices break the contract: truncated JSON,
# a bare NaN, a string where a number belongs, a missing `readings`, bytes that are not UTF-8.
MALFORMED_PAYLOADS: tuple[bytes, ...] = (
    b'{"ts":"2024-01-01T00:00:00Z","readings":{"level_pct":8',
    b'{"readings":{"value":NaN}}',
    b'{"readings":{"temperature_c":"hot"}}',
    b'{"ts":1700000000,"values":{"x":1}}',
    b"\xff\xfe\x00garbage",
)


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str
    target: str
    start: float  # epoch seconds
    until: float = math.inf
    params: Mapping[str, float | str] = field(default_factory=dict)

    def covers(self, t: float) -> bool:
        return self.start <= t < self.until

    def number(self, name: str, default: float) -> float:
        value = self.params.get(name, default)
        return float(value)


def active(faults: Sequence[Fault], kind: str, t: float) -> Fault | None:
    for fault in faults:
        if fault.kind == kind and fault.covers(t):
            return fault
    return None


def scheduled_statuses(fault: Fault) -> list[StatusChange]:
    """The retained status changes a dropout publishes (what the device's last will would do)."""
    if fault.kind != "dropout":
        return []
    out = [StatusChange(fault.start, fault.target, Status.OFFLINE)]
    if math.isfinite(fault.until):
        out.append(StatusChange(fault.until, fault.target, Status.ONLINE))
    return out


class SignalFaults:
    """The signal faults of one device, applied emission by emission (in timestamp order)."""

    __slots__ = ("_faults", "_stuck", "_malformed_count")

    def __init__(self, faults: Sequence[Fault]) -> None:
        self._faults = tuple(f for f in faults if f.kind in SIGNAL)
        self._stuck: dict[str, Value] = {}
        self._malformed_count = 0

    def __bool__(self) -> bool:
        return bool(self._faults)

    def apply(self, emission: Emission) -> Emission | None:
        for fault in self._faults:
            if not fault.covers(emission.ts):
                continue
            if isinstance(emission, StatusChange):
                continue
            if fault.kind == "dropout":
                return None
            if fault.kind == "clock_skew":
                emission = replace(emission, ts=emission.ts + fault.number("offset_s", 3600.0))
            elif isinstance(emission, Telemetry):
                transformed = self._telemetry(fault, emission)
                if transformed is None:
                    continue
                emission = transformed
        return emission

    def _telemetry(self, fault: Fault, em: Telemetry) -> Telemetry | Raw | None:
        metric = str(fault.params.get("metric", ""))
        readings = dict(em.readings)
        if fault.kind == "malformed":
            every = max(1, int(fault.number("every", 1)))
            self._malformed_count += 1
            if (self._malformed_count - 1) % every:
                return None
            index = (self._malformed_count - 1) // every % len(MALFORMED_PAYLOADS)
            return Raw(em.ts, em.device, MALFORMED_PAYLOADS[index])
        if fault.kind == "stuck_value":
            for name, value in readings.items():
                if metric and name != metric:
                    continue
                if isinstance(value, bool) or name == "battery_pct":
                    continue
                readings[name] = self._stuck.setdefault(name, value)
        elif fault.kind == "drift" and metric in readings:
            hours = (em.ts - fault.start) / 3600.0
            value = readings[metric]
            if not isinstance(value, bool):
                readings[metric] = round(value + fault.number("rate_per_h", 1.0) * hours, 3)
        elif fault.kind == "battery_low" and "battery_pct" in readings:
            span = fault.until - fault.start if math.isfinite(fault.until) else 86_400.0
            progress = min(1.0, (em.ts - fault.start) / span)
            high, low = fault.number("from_pct", 15.0), fault.number("to_pct", 3.0)
            readings["battery_pct"] = float(round(high - (high - low) * progress))
        else:
            return None
        return Telemetry(em.ts, em.device, readings)
