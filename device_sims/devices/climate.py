"""Equipment-room climate: temperature and humidity with a daily swing, and overheating."""

from __future__ import annotations

import math

from device_sims.devices.base import DeviceModel, clamp
from device_sims.emissions import Emission, Telemetry


class EquipmentRoom(DeviceModel):
    """A ventilated plant room: 24 +-2 degC over the day (warmest mid-afternoon), 45-65 %RH.

    Overheating (failed ventilation or AC) drives the temperature exponentially towards
    `target_c` (default 45 degC) with a 1 h time constant, so it crosses 35 degC in about 40 min.
    Humidity falls as the air warms (relative humidity at constant absolute humidity).
    """

    kind = "equipment_room"
    has_battery = True

    def setup(self) -> None:
        self.base_c = float(self.rng.uniform(22.0, 26.0))
        self.base_rh = float(self.rng.uniform(48.0, 60.0))
        self.excess_c = 0.0

    def sample(self, t: float, dt: float) -> list[Emission]:
        hour = self.site.local_hour(t)
        swing = 2.0 * math.sin((hour - 9.0) / 24.0 * 2.0 * math.pi)
        hot = self.fault("overheating", t)
        target = hot.number("target_c", 45.0) - (self.base_c + swing) if hot else 0.0
        self.excess_c += (target - self.excess_c) * (1.0 - math.exp(-dt / 3600.0))
        temp = self.base_c + swing + self.excess_c + self.noise(0.15)
        # ~ -3 %RH per degC above the room's baseline, the Magnus slope near 25 degC.
        rh = self.base_rh - 3.0 * (temp - self.base_c) + self.noise(0.8)
        readings: dict[str, float | bool] = {
            "temperature_c": round(clamp(temp, -10.0, 60.0), 2),
            "humidity_pct": round(clamp(rh, 5.0, 100.0), 1),
        }
        return [Telemetry(t, self.id, self.with_battery(readings))]
