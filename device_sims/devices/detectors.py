"""Smoke and water-leak detectors: battery heartbeats, and an alarm event when triggered."""

from __future__ import annotations

from device_sims.devices.base import DeviceModel
from device_sims.emissions import Emission, Event, Telemetry


class _Detector(DeviceModel):
    """A battery detector that reports its state on a heartbeat and an event on alarm onset.

    Real detectors report state every 1-4 h (Xiaomi smoke: ~50 min); the alarm itself is sent at
    once, then repeated in the heartbeats while it lasts.
    """

    has_battery = True
    alarm_fault = ""
    metric = ""

    def setup(self) -> None:
        self.alarming = False

    def sample(self, t: float, dt: float) -> list[Emission]:
        active = self.fault(self.alarm_fault, t) is not None
        out: list[Emission] = [self._state(t, active)]
        if active and not self.alarming:
            out.append(Event(t, self.id, self.metric, attrs={"alarm": True}))
        # The alarm begins exactly at the fault's start, even mid-interval.
        onsets = [
            f.start for f in self.faults if f.kind == self.alarm_fault and t < f.start < t + dt
        ]
        if onsets and not active:
            out.append(Event(onsets[0], self.id, self.metric, attrs={"alarm": True}))
            out.append(self._state(onsets[0], True))
            active = True
        self.alarming = active
        return out

    def _state(self, t: float, alarm: bool) -> Telemetry:
        return Telemetry(t, self.id, self.with_battery({self.metric: alarm}))


class SmokeDetector(_Detector):
    kind = "smoke_detector"
    alarm_fault = "smoke_alarm"
    metric = "smoke"


class LeakDetector(_Detector):
    kind = "leak_detector"
    alarm_fault = "water_leak"
    metric = "water_leak"
