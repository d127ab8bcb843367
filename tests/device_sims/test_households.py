"""The routine model's statistics over 60 simulated days stay in the ranges of routine.py."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime

import pytest

from device_sims.emissions import Event, Telemetry
from device_sims.households.home_kit import Household, HouseholdSpec
from device_sims.seeding import rng_for
from tests.device_sims.sim_support import SITE, T0

DAYS = 60
RESIDENTS = 6


def _live(resident: int) -> tuple[Household, list[Event | Telemetry]]:
    spec = HouseholdSpec(f"hh-{resident}", "Room", ("bedroom", "bathroom", "kitchen", "living"),
                         frozenset({"door", "bed", "water", "kettle", "sos"}))  # fmt: skip
    home = Household(spec, SITE, rng_for(42, spec.id), ())
    home.keep_plans = True
    t, out = T0, []
    for _ in range(DAYS):
        emissions, t = home.wake(t)
        out.extend(e for e in emissions if isinstance(e, Event | Telemetry))
    return home, sorted(out, key=lambda e: e.ts)


@pytest.fixture(scope="module")
def homes() -> list[tuple[Household, list[Event | Telemetry]]]:
    return [_live(r) for r in range(RESIDENTS)]


def _motion_hours(emissions: list[Event | Telemetry]) -> list[float]:
    return [SITE.local_hour(e.ts) for e in emissions if isinstance(e, Event) and e.type == "motion"]


def test_activity_by_hour_of_day(homes: list[tuple[Household, list[Event | Telemetry]]]) -> None:
    hours = Counter(int(h) for _, em in homes for h in _motion_hours(em))
    total = sum(hours.values())
    # Asleep 22:30-05:30 except 0-3 short toilet trips: under 5 % of all motion falls 00-05 h.
    assert sum(hours[h] for h in range(0, 5)) / total < 0.05
    # Awake 07-20 h: at least 80 % of motion (wake 05:45-07:45 on average, bed 20:45-22:15).
    assert sum(hours[h] for h in range(7, 21)) / total > 0.8
    # Every daytime hour sees activity: nobody is silent all of 09-18 h across 60 days.
    assert all(hours[h] > 0 for h in range(6, 22))


def test_nightly_silences(homes: list[tuple[Household, list[Event | Telemetry]]]) -> None:
    for _, emissions in homes:
        active = [e.ts for e in emissions if isinstance(e, Event)]
        longest: list[float] = []
        for day in range(1, DAYS):
            lo, hi = T0 + (day - 1) * 86_400 + 20 * 3600, T0 + day * 86_400 + 10 * 3600
            night = [lo, *[t for t in active if lo <= t < hi], hi]
            longest.append(max(b - a for a, b in zip(night, night[1:], strict=False)) / 3600)
        # ~8 h in bed split by at most 3 short trips: the longest silence is at least 2 h every
        # night and at least 3 h on 90 % of nights; never longer than 14 h (that is an incident).
        assert min(longest) >= 2.0
        assert sum(g >= 3.0 for g in longest) / len(longest) >= 0.9
        assert max(longest) <= 14.0


def test_outings_per_day(homes: list[tuple[Household, list[Event | Telemetry]]]) -> None:
    for _, emissions in homes:
        opens = [e for e in emissions if isinstance(e, Event) and e.type == "door_open"]
        per_day = len(opens) / 2 / DAYS  # each outing opens the door twice (leave, return)
        # Residents go out 1-2 times a day on average (profile: 0.9-1.8 expected outings).
        assert 0.7 <= per_day <= 2.0, per_day
        days = Counter(datetime.fromtimestamp(e.ts, SITE.tz).date() for e in opens)
        assert max(days.values()) <= 4  # at most two outings on any day


def test_night_trips_and_naps(homes: list[tuple[Household, list[Event | Telemetry]]]) -> None:
    for home, _ in homes:
        trips = [sum(a.kind == "toilet_night" for a in plan) for plan in home.plans]
        assert max(trips) <= 3  # nocturia: 0-3 trips
        assert 0.3 <= statistics.mean(trips) <= 2.2
        naps = [a.end - a.start for plan in home.plans for a in plan if a.kind == "nap"]
        assert all(30 * 60 - 1 <= n <= 90 * 60 + 1 for n in naps)
        assert 0.15 <= len(naps) / DAYS <= 0.9  # napping on 30-80 % of days, +-sampling


def test_wake_times_vary_by_person_and_day(
    homes: list[tuple[Household, list[Event | Telemetry]]],
) -> None:
    means = []
    for home, _ in homes:
        wakes = [next(a.start for a in plan if a.kind == "wake") for plan in home.plans]
        hours = [SITE.local_hour(w) for w in wakes]
        means.append(statistics.mean(hours))
        assert 5.0 <= means[-1] <= 8.5  # larks: 05:30-08:00 on average, +-sampling
        assert 5 / 60 <= statistics.stdev(hours) <= 0.75  # 15-30 min jitter day to day
    assert max(means) - min(means) > 0.25  # people differ


def test_bed_sensor_follows_sleep(homes: list[tuple[Household, list[Event | Telemetry]]]) -> None:
    _, emissions = homes[0]
    bed = [e for e in emissions if isinstance(e, Telemetry) and "occupancy" in e.readings
           and e.device.endswith("-bed")]  # fmt: skip
    states = [e.readings["occupancy"] for e in bed]
    assert all(a != b for a, b in zip(states, states[1:], strict=False))  # changes only
    night = [e for e in bed if e.readings["occupancy"] is True and SITE.local_hour(e.ts) >= 19]
    assert len(night) >= DAYS - 2
