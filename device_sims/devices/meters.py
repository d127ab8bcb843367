"""Electricity and water meters: monotonic counters with the instantaneous rate beside them."""

from __future__ import annotations

from device_sims.devices.base import DeviceModel, clamp
from device_sims.devices.profiles import ELECTRIC_LOAD, WATER_DEMAND, at_hour
from device_sims.emissions import Emission, Telemetry


class ElectricityMeter(DeviceModel):
    """A building's common-area (or block) meter: mean load `mean_kw` (default 40 kW) shaped by
    the daily load profile, +-5 % noise. `energy_kwh` never decreases."""

    kind = "electricity_meter"

    def setup(self) -> None:
        self.mean_kw = self.param("mean_kw", 40.0) * float(self.rng.uniform(0.7, 1.3))
        self.energy_kwh = float(self.rng.uniform(1e4, 5e5))

    def sample(self, t: float, dt: float) -> list[Emission]:
        kw = self.mean_kw * at_hour(ELECTRIC_LOAD, self.site.local_hour(t))
        kw = clamp(kw * (1.0 + self.noise(0.05)), 0.0, 10 * self.mean_kw)
        readings: dict[str, float | bool] = {
            "power_w": round(kw * 1000.0, 1),
            "energy_kwh": round(self.energy_kwh, 3),
        }
        self.energy_kwh += kw * dt / 3600.0
        return [Telemetry(t, self.id, readings)]


class WaterMeter(DeviceModel):
    """A building's water meter: mean `mean_m3_per_day` (default 40) shaped by the demand
    profile. `water_m3` never decreases; `flow_lpm` is the rate over the last interval."""

    kind = "water_meter"
    has_battery = True

    def setup(self) -> None:
        self.mean_m3_day = self.param("mean_m3_per_day", 40.0) * float(self.rng.uniform(0.7, 1.3))
        self.water_m3 = float(self.rng.uniform(1e3, 1e5))

    def sample(self, t: float, dt: float) -> list[Emission]:
        m3_per_s = self.mean_m3_day / 86_400.0 * at_hour(WATER_DEMAND, self.site.local_hour(t))
        m3_per_s = max(0.0, m3_per_s * (1.0 + self.noise(0.1)))
        readings: dict[str, float | bool] = {
            "water_m3": round(self.water_m3, 4),
            "flow_lpm": round(m3_per_s * 60_000.0, 2),
        }
        self.water_m3 += m3_per_s * dt
        return [Telemetry(t, self.id, self.with_battery(readings))]
