"""Water supply: the roof/underground tank (fill/drain cycles) and the booster pump (pressure)."""

from __future__ import annotations

import math
from collections import deque

from device_sims.devices.base import DeviceModel, clamp
from device_sims.devices.profiles import WATER_DEMAND, at_hour
from device_sims.emissions import Emission, Event, Telemetry


class WaterTank(DeviceModel):
    """Level driven by household demand; a float-valve inlet refills between two set points.

    Rates are in % of capacity per hour. Mean demand 4 %/h empties a full tank in a day (the usual
    sizing: one day of storage), peaks at ~7.6 %/h; the inlet brings 12 %/h, so a refill from the
    low to the high set point takes several hours and the level saw-tooths through the day.
    A leak adds a steady drain (default 20 %/h, faster than the inlet: a cracked tank or a burst
    outlet), so the level falls steadily even while refilling.
    """

    kind = "water_tank"

    def setup(self) -> None:
        self.level = float(self.rng.uniform(55.0, 90.0))
        self.inlet_open = False
        self.demand_pct_h = self.param("demand_pct_h", 4.0) * float(self.rng.uniform(0.85, 1.15))
        self.inflow_pct_h = self.param("inflow_pct_h", 12.0)
        self.low = self.param("low_pct", 35.0)
        self.high = self.param("high_pct", 95.0)

    def sample(self, t: float, dt: float) -> list[Emission]:
        readings: dict[str, float | bool] = {
            "level_pct": round(clamp(self.level + self.noise(0.3), 0.0, 100.0), 2),
            "inlet_open": self.inlet_open,
        }
        steps = max(1, math.ceil(dt / 60.0))
        h = dt / steps / 3600.0
        for i in range(steps):
            ti = t + i * dt / steps
            demand = self.demand_pct_h * at_hour(WATER_DEMAND, self.site.local_hour(ti))
            demand *= 1.0 + self.noise(0.1)
            leak = self.fault("tank_leak", ti)
            drain = demand + (leak.number("rate_pct_h", 20.0) if leak else 0.0)
            if self.level <= self.low:
                self.inlet_open = True
            elif self.level >= self.high:
                self.inlet_open = False
            inflow = self.inflow_pct_h if self.inlet_open else 0.0
            self.level = clamp(self.level + (inflow - max(0.0, drain)) * h, 0.0, 100.0)
        return [Telemetry(t, self.id, readings)]


class BoosterPump(DeviceModel):
    """A pressure-switch booster: starts at the cut-in pressure, stops at cut-out.

    Integrated in 5 s steps. Off, demand bleeds the pressure down (1.2 bar in ~4 min at mean
    demand); running, the pump adds 0.02 bar/s. That gives ~3 starts/h at night and 12-18 at the
    evening peak, within what small boosters with a pressure vessel are rated for (20-30/h).
    Dry run: the pump runs with no water, draws ~35 % of its rated current, builds no pressure.
    Failure: it no longer starts; pressure bleeds down to zero.
    """

    kind = "booster_pump"
    _STEP_S = 5.0

    def setup(self) -> None:
        self.cut_in = self.param("cut_in_bar", 3.0)
        self.cut_out = self.param("cut_out_bar", 4.2)
        self.rated_a = self.param("rated_current_a", 7.5)
        self.pressure = float(self.rng.uniform(self.cut_in, self.cut_out))
        self.running = False
        self.starts: deque[float] = deque()

    def sample(self, t: float, dt: float) -> list[Emission]:
        while self.starts and self.starts[0] < t - 3600.0:
            self.starts.popleft()
        dry = self.fault("pump_dry_run", t)
        current = 0.0
        if self.running:
            load = 0.35 if dry else 0.85 + 0.1 * self.pressure / self.cut_out
            current = self.rated_a * load + self.noise(0.08)
        readings: dict[str, float | bool] = {
            "pressure_bar": round(clamp(self.pressure + self.noise(0.03), 0.0, 10.0), 3),
            "current_a": round(clamp(current, 0.0, 3 * self.rated_a), 2),
            "running": self.running,
            "starts_per_h": float(len(self.starts)),
        }
        out: list[Emission] = [Telemetry(t, self.id, readings)]
        steps = max(1, math.ceil(dt / self._STEP_S))
        h = dt / steps
        for i in range(steps):
            ti = round(t + i * h, 3)
            out.extend(self._step(ti, h))
        return out

    def _step(self, t: float, h: float) -> list[Emission]:
        demand = at_hour(WATER_DEMAND, self.site.local_hour(t)) * (1.0 + self.noise(0.15))
        failed = self.fault("pump_failure", t) is not None
        dry = self.fault("pump_dry_run", t) is not None
        out: list[Emission] = []
        if not self.running and self.pressure <= self.cut_in and not failed:
            self.running = True
            self.starts.append(t)
            out.append(Event(t, self.id, "pump_start", attrs={"pressure_bar": self._p()}))
        elif self.running and (self.pressure >= self.cut_out or failed):
            self.running = False
            out.append(Event(t, self.id, "pump_stop", attrs={"pressure_bar": self._p()}))
        gain = 0.02 if self.running and not dry else 0.0
        self.pressure += (gain - 0.005 * max(0.0, demand)) * h
        if dry and self.running:
            self.pressure += (0.2 - self.pressure) * min(1.0, h / 30.0)
        self.pressure = clamp(self.pressure, 0.0, 10.0)
        return out

    def _p(self) -> float:
        return round(self.pressure, 2)
