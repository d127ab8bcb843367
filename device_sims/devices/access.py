"""Access devices: gate card readers and face gates (granted/denied), unit doors (open/closed)."""

from __future__ import annotations

from device_sims.devices.base import DeviceModel
from device_sims.devices.profiles import FOOT_TRAFFIC, at_hour
from device_sims.emissions import Emission, Event, Telemetry


class _Gate(DeviceModel):
    """Passages arrive as a Poisson process following the foot-traffic profile.

    Subjects are pseudonymous ids drawn from the gate's population of residents (`residents`,
    default 300), never names. A gate of a 300-household compound sees ~30 passages/h on average
    (default `passages_per_h`). ~3 % are denied (expired cards, unknown faces), the usual share
    in property-management logs. The heartbeat reports the interval's counts.
    """

    prefix = ""
    deny_share = 0.03

    def setup(self) -> None:
        size = int(self.param("residents", 300))
        codes = self.rng.choice(16**6, size=size, replace=False)
        self.subjects = [f"{self.prefix}:{int(c):06x}" for c in codes]
        self.per_h = self.param("passages_per_h", 30.0) * float(self.rng.uniform(0.7, 1.3))

    def sample(self, t: float, dt: float) -> list[Emission]:
        rate = self.per_h * at_hour(FOOT_TRAFFIC, self.site.local_hour(t)) / 3600.0
        n = int(self.rng.poisson(rate * dt))
        times = sorted(float(x) for x in self.rng.uniform(t, t + dt, size=n))
        out: list[Emission] = []
        granted = denied = 0
        for ts in times:
            subject = self.subjects[int(self.rng.integers(len(self.subjects)))]
            ok = float(self.rng.random()) >= self.deny_share
            granted += ok
            denied += not ok
            out.append(self._event(round(ts, 3), subject, ok))
        readings: dict[str, float | bool] = {
            "granted_count": float(granted),
            "denied_count": float(denied),
        }
        out.append(Telemetry(round(t + dt * 0.999, 3), self.id, readings))
        return out

    def _event(self, ts: float, subject: str, ok: bool) -> Event:
        kind = "access_granted" if ok else "access_denied"
        return Event(ts, self.id, kind, subject, {"method": self.prefix})


class CardReader(_Gate):
    kind = "card_reader"
    prefix = "card"


class FaceGate(_Gate):
    kind = "face_gate"
    prefix = "face"

    def _event(self, ts: float, subject: str, ok: bool) -> Event:
        score = float(self.rng.uniform(0.82, 0.99)) if ok else float(self.rng.uniform(0.2, 0.6))
        kind = "access_granted" if ok else "access_denied"
        return Event(ts, self.id, kind, subject, {"method": "face", "score": round(score, 3)})


class UnitDoor(DeviceModel):
    """An apartment's door contact: ~8 openings a day for a household (default `opens_per_day`),
    following foot traffic; each stays open 3-20 s. Heartbeat carries state and battery."""

    kind = "unit_door"
    has_battery = True

    def setup(self) -> None:
        self.per_h = self.param("opens_per_day", 8.0) / 24.0 * float(self.rng.uniform(0.5, 1.5))
        self.open_until = 0.0

    def sample(self, t: float, dt: float) -> list[Emission]:
        out: list[Emission] = [
            Telemetry(t, self.id, self.with_battery({"door_open": t < self.open_until}))
        ]
        rate = self.per_h * at_hour(FOOT_TRAFFIC, self.site.local_hour(t)) / 3600.0
        n = int(self.rng.poisson(rate * dt))
        for ts in sorted(float(x) for x in self.rng.uniform(t, t + dt, size=n)):
            start = max(round(ts, 3), self.open_until + 1.0)
            end = round(start + float(self.rng.uniform(3.0, 20.0)), 3)
            out.append(Event(start, self.id, "door_open"))
            out.append(Event(end, self.id, "door_closed"))
            self.open_until = end
        return out
