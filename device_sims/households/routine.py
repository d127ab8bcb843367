"""Daily routine of an elderly resident living alone: a seeded, stochastic plan of activities.

The ranges below come from what sleep and activity studies of community-dwelling older adults
report, and they are what tests/device_sims/test_households.py asserts:

* wake 05:30-08:00 on average (older adults are "larks": mean wake ~06:30, SD across people
  ~45 min), with 15-30 min day-to-day jitter; bedtime 20:30-22:30 on average;
* nocturia: most people over 70 get up at night, 0-3 times (Poisson mean 0.5-2, capped at 3);
* 1-2 outings a day (market in the morning, a walk or the community centre in the afternoon);
* an after-lunch nap of 30-90 min on 30-80 % of days;
* three meals at regular hours (breakfast after washing; lunch ~12:00; an early dinner
  ~18:00, as is usual in China), the kettle boiled at breakfast most days.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np

#: Activities in which the resident is in bed (bed sensor occupied, no motion).
IN_BED = frozenset({"sleep", "nap", "still_in_bed"})
#: Activities without motion at home.
STILL = IN_BED | frozenset({"out", "away", "fallen"})


@dataclass(frozen=True, slots=True)
class Activity:
    start: float  # epoch seconds
    end: float
    kind: str  # sleep, toilet_night, wake, wash, meal, living, bathroom, out, nap, away, fallen...
    room: str  # bedroom, bathroom, kitchen, living, outside
    kettle: bool = False


@dataclass(frozen=True, slots=True)
class ResidentProfile:
    wake_h: float
    wake_sd_h: float
    bed_h: float
    night_trips_mean: float
    p_morning_out: float
    p_afternoon_out: float
    p_nap: float
    nap_in_bed: bool


def draw_profile(
    rng: np.random.Generator, overrides: Mapping[str, float] | None = None
) -> ResidentProfile:
    """One resident's habits, drawn within the ranges in the module docstring."""
    profile = ResidentProfile(
        wake_h=float(rng.uniform(5.75, 7.75)),
        wake_sd_h=float(rng.uniform(0.25, 0.5)),
        bed_h=float(rng.uniform(20.75, 22.25)),
        night_trips_mean=float(rng.uniform(0.5, 2.0)),
        # Together 1-2 outings a day on average: 0.55-0.95 + 0.35-0.85.
        p_morning_out=float(rng.uniform(0.55, 0.95)),
        p_afternoon_out=float(rng.uniform(0.35, 0.85)),
        p_nap=float(rng.uniform(0.3, 0.8)),
        nap_in_bed=bool(rng.random() < 0.6),
    )
    if overrides:
        numbers = {k: float(v) for k, v in overrides.items() if k != "nap_in_bed"}
        profile = replace(profile, **numbers)  # type: ignore[arg-type]
        if "nap_in_bed" in overrides:
            profile = replace(profile, nap_in_bed=bool(overrides["nap_in_bed"]))
    return profile


class _Timeline:
    """Appends activities back to back from a cursor; filling gaps with ordinary home life."""

    def __init__(self, start: float, end: float, rng: np.random.Generator) -> None:
        self.cursor = start
        self.end = end
        self.rng = rng
        self.acts: list[Activity] = []

    def add(self, kind: str, room: str, minutes: float, kettle: bool = False) -> None:
        end = min(self.end, self.cursor + minutes * 60.0)
        if end > self.cursor:
            self.acts.append(Activity(round(self.cursor, 3), round(end, 3), kind, room, kettle))
        self.cursor = end

    def until(self, kind: str, room: str, target: float) -> None:
        if target > self.cursor:
            self.add(kind, room, (target - self.cursor) / 60.0)

    def home_until(self, target: float) -> None:
        """Living-room stretches of 30-120 min, with bathroom visits (3-6 min) between them
        and a kitchen visit (5-15 min) now and then: the texture of a quiet day at home."""
        while self.cursor < target - 60.0:
            stretch = min(float(self.rng.uniform(30.0, 120.0)), (target - self.cursor) / 60.0)
            self.add("living", "living", stretch)
            if self.cursor >= target - 60.0:
                break
            if self.rng.random() < 0.7:
                self.add("bathroom", "bathroom", float(self.rng.uniform(3.0, 6.0)))
            else:
                self.add("kitchen", "kitchen", float(self.rng.uniform(5.0, 15.0)))
        self.until("living", "living", target)


def local_midnight(day: date, tz: ZoneInfo) -> float:
    return datetime.combine(day, time(0, 0), tzinfo=tz).timestamp()


def plan_day(
    profile: ResidentProfile, day: date, tz: ZoneInfo, rng: np.random.Generator
) -> list[Activity]:
    """The activities of one local day [00:00, 24:00), back to back, covering the whole day."""
    midnight = local_midnight(day, tz)
    day_end = local_midnight(date.fromordinal(day.toordinal() + 1), tz)

    def at(hours: float) -> float:
        return midnight + hours * 3600.0

    def uniform(low: float, high: float) -> float:
        return float(rng.uniform(low, high))

    wake = at(float(np.clip(rng.normal(profile.wake_h, profile.wake_sd_h), 4.5, 10.0)))
    bed = at(float(np.clip(rng.normal(profile.bed_h, 0.4), 19.5, 23.5)))
    tl = _Timeline(midnight, day_end, rng)

    trips = min(3, int(rng.poisson(profile.night_trips_mean)))
    if wake - 1800.0 > at(0.5):
        for trip in sorted(float(x) for x in rng.uniform(at(0.5), wake - 1800.0, size=trips)):
            if trip > tl.cursor + 600.0:
                tl.until("sleep", "bedroom", trip)
                tl.add("toilet_night", "bathroom", uniform(3.0, 8.0))
    tl.until("sleep", "bedroom", wake)
    tl.add("wake", "bedroom", uniform(3.0, 8.0))
    tl.add("wash", "bathroom", uniform(10.0, 20.0))
    tl.add("meal", "kitchen", uniform(20.0, 40.0), kettle=bool(rng.random() < 0.85))
    if rng.random() < profile.p_morning_out:
        tl.home_until(at(uniform(8.0, 9.5)))
        tl.add("out", "outside", uniform(45.0, 120.0))
    tl.home_until(at(uniform(11.5, 12.5)))
    tl.add("meal", "kitchen", uniform(30.0, 45.0), kettle=bool(rng.random() < 0.3))
    if rng.random() < profile.p_nap:
        tl.home_until(at(uniform(12.75, 14.0)))
        room = "bedroom" if profile.nap_in_bed else "living"
        tl.add("nap", room, uniform(30.0, 90.0))
    if rng.random() < profile.p_afternoon_out:
        tl.home_until(at(uniform(15.0, 16.5)))
        tl.add("out", "outside", uniform(30.0, 90.0))
    tl.home_until(at(uniform(17.5, 18.5)))
    tl.add("meal", "kitchen", uniform(30.0, 45.0), kettle=bool(rng.random() < 0.5))
    tl.home_until(bed - 900.0)
    tl.add("wash", "bathroom", uniform(8.0, 15.0))
    tl.until("sleep", "bedroom", day_end)
    return tl.acts
