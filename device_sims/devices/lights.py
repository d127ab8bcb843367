"""Street lights: on at dusk, off at dawn (computed from the site's latitude), lamp failure."""

from __future__ import annotations

import math
from datetime import datetime

from device_sims.devices.base import DeviceModel, Site, clamp
from device_sims.emissions import Emission, Telemetry


def daylight(site: Site, t: float) -> tuple[float, float]:
    """Local (sunrise, sunset) hours from the solar declination (Cooper's formula).

    Solar noon is taken at 12:00 local plus the longitude offset from the zone's meridian;
    accurate to ~15 min, which is what a photocell's own hysteresis gives anyway.
    """
    day = site.day_of_year(t)
    decl = math.radians(23.44) * math.sin(2.0 * math.pi * (284 + day) / 365.0)
    lat = math.radians(site.latitude)
    cos_w = clamp(-math.tan(lat) * math.tan(decl), -1.0, 1.0)
    half_day_h = math.degrees(math.acos(cos_w)) / 15.0
    offset = datetime.fromtimestamp(t, site.tz).utcoffset()
    zone_h = offset.total_seconds() / 3600.0 if offset is not None else 0.0
    noon = 12.0 + (zone_h * 15.0 - site.longitude) / 15.0
    return noon - half_day_h, noon + half_day_h


class StreetLight(DeviceModel):
    """An LED street light switched by a photocell ~15 min after sunset / before sunrise.

    Power ~120 W (100-150 W LED luminaires) with +-2 % mains noise; 0.5 W standby for the
    controller when off. A failed lamp keeps its controller on but draws only ~1 W.
    """

    kind = "street_light"

    def setup(self) -> None:
        self.rated_w = float(self.rng.uniform(100.0, 150.0))
        self.energy_kwh = float(self.rng.uniform(100.0, 2000.0))
        self.photocell_min = float(self.rng.uniform(5.0, 25.0))

    def sample(self, t: float, dt: float) -> list[Emission]:
        sunrise, sunset = daylight(self.site, t)
        hour = self.site.local_hour(t)
        delay = self.photocell_min / 60.0
        on = hour >= sunset + delay or hour < sunrise - delay
        if on:
            failed = self.fault("lamp_failure", t) is not None
            power = 1.0 if failed else self.rated_w
            power *= 1.0 + self.noise(0.02)
        else:
            power = 0.5
        power = clamp(power, 0.0, 400.0)
        self.energy_kwh += power * dt / 3_600_000.0
        readings: dict[str, float | bool] = {
            "on": on,
            "power_w": round(power, 1),
            "energy_kwh": round(self.energy_kwh, 4),
        }
        return [Telemetry(t, self.id, readings)]
