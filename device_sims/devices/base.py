"""The device-model contract: identity, reporting interval, battery, faults and the wake step."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

import numpy as np

from device_sims.emissions import Emission, Value
from device_sims.faults import Fault, active


@dataclass(frozen=True, slots=True)
class Site:
    """What device physics needs to know about the place: local time and where the sun is."""

    id: str
    tz: ZoneInfo
    latitude: float = 31.2  # Shanghai
    longitude: float = 121.5

    def local_hour(self, t: float) -> float:
        local = datetime.fromtimestamp(t, self.tz)
        return local.hour + local.minute / 60.0 + local.second / 3600.0

    def day_of_year(self, t: float) -> int:
        return datetime.fromtimestamp(t, self.tz).timetuple().tm_yday


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    id: str
    kind: str
    interval_s: float
    building: str | None = None
    params: Mapping[str, float | str] = field(default_factory=dict)


class DeviceModel:
    """One simulated device. Subclasses implement `sample` (physics over one interval).

    `wake(t)` is called by the engine at the device's report times; it returns the emissions of
    the interval [t, next wake) (all timestamped >= t, so the engine can keep global order) and
    the next wake time. Reports are jittered by +-2 % of the interval, as real devices drift.
    """

    kind: ClassVar[str] = ""
    has_battery: ClassVar[bool] = False
    #: A battery that lasts about 18 months at one report a minute (typical for Zigbee/LoRa).
    battery_drain_pct_per_report: ClassVar[float] = 0.0002

    def __init__(
        self, spec: DeviceSpec, site: Site, rng: np.random.Generator, faults: Sequence[Fault]
    ) -> None:
        self.id = spec.id
        self.spec = spec
        self.site = site
        self.rng = rng
        self.faults = tuple(faults)
        self.interval_s = spec.interval_s
        self.battery_pct = float(rng.uniform(55.0, 100.0)) if self.has_battery else math.nan
        # Stagger first reports over one interval so a community does not report in lockstep.
        self.first_offset_s = float(rng.uniform(0.0, spec.interval_s))
        self.setup()

    def setup(self) -> None:
        """Initial physical state (subclasses), drawn from `self.rng`."""

    def param(self, name: str, default: float) -> float:
        return float(self.spec.params.get(name, default))

    def fault(self, kind: str, t: float) -> Fault | None:
        return active(self.faults, kind, t) if self.faults else None

    def noise(self, sigma: float) -> float:
        return float(self.rng.normal(0.0, sigma))

    def wake(self, t: float) -> tuple[list[Emission], float]:
        jitter = 1.0 + float(self.rng.uniform(-0.02, 0.02))
        dt = self.interval_s * jitter
        emissions = self.sample(t, dt)
        return emissions, round(t + dt, 3)

    def sample(self, t: float, dt: float) -> list[Emission]:
        raise NotImplementedError

    def with_battery(self, readings: dict[str, Value]) -> dict[str, Value]:
        if self.has_battery:
            self.battery_pct = max(0.0, self.battery_pct - self.battery_drain_pct_per_report)
            readings["battery_pct"] = float(round(self.battery_pct))
        return readings


def clamp(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))
