"""Elevator: trips and door cycles driven by foot traffic, car vibration, a door that can stick."""

from __future__ import annotations

from device_sims.devices.base import DeviceModel, clamp
from device_sims.devices.profiles import FOOT_TRAFFIC, at_hour
from device_sims.emissions import Emission, Event, Telemetry


class Elevator(DeviceModel):
    """Trips arrive as a Poisson process whose rate follows the foot-traffic profile.

    A residential lift in an 18-floor block makes ~200-400 trips a day (mean 12/h; ~28/h at the
    commute peaks). Each trip is one door cycle at the start floor plus one at the destination.
    Vibration RMS is ~0.005 g idle and 0.015-0.04 g while moving (ISO 18738 ride-quality range);
    the reported value is the mean over the interval. A stuck door stays open: no trips, and
    `door_open_s` keeps growing, which is what a controller's door-open timer exposes.
    """

    kind = "elevator"

    def setup(self) -> None:
        self.floors = int(self.param("floors", 18))
        self.trips_per_h = self.param("trips_per_h", 12.0) * float(self.rng.uniform(0.8, 1.2))
        self.floor = 1
        self.door_open_since: float | None = None

    def sample(self, t: float, dt: float) -> list[Emission]:
        out: list[Emission] = []
        stuck = self.fault("elevator_door_stuck", t)
        trips = cycles = 0
        moving_s = 0.0
        if stuck is not None:
            if self.door_open_since is None:
                self.door_open_since = t
        else:
            self.door_open_since = None
            rate = self.trips_per_h * at_hour(FOOT_TRAFFIC, self.site.local_hour(t)) / 3600.0
            n = int(self.rng.poisson(rate * dt))
            times = sorted(float(x) for x in self.rng.uniform(t, t + dt, size=n))
            for ts in times:
                dest = int(self.rng.integers(1, self.floors + 1))
                if dest == self.floor:
                    dest = 1 if self.floor != 1 else self.floors
                travel = 4.0 + 1.6 * abs(dest - self.floor)  # 1.6 m/s car, 2.8 m floors
                attrs = {"from_floor": self.floor, "to_floor": dest, "duration_s": round(travel, 1)}
                out.append(Event(round(ts, 3), self.id, "elevator_trip", attrs=attrs))
                self.floor = dest
                trips += 1
                cycles += 2
                moving_s += travel
        busy = clamp(moving_s / dt, 0.0, 1.0)
        vibration = 0.005 + busy * float(self.rng.uniform(0.015, 0.04)) + abs(self.noise(0.001))
        open_s = 0.0 if self.door_open_since is None else t - self.door_open_since
        readings: dict[str, float | bool] = {
            "trips": float(trips),
            "door_cycles": float(cycles),
            "door_open": stuck is not None,
            "door_open_s": round(open_s, 1),
            "vibration_rms_g": round(clamp(vibration, 0.0, 2.0), 4),
            "floor": float(self.floor),
        }
        # The interval summary goes out at its end; trip events are already inside the interval.
        out.append(Telemetry(round(t + dt * 0.999, 3), self.id, readings))
        return out
