from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import orjson
import pytest
from pydantic import ValidationError

from rules.arrays import BatchView, view_of
from rules.catalog.inactivity import (
    SILENT,
    HouseholdState,
    InactivityParams,
    InactivityRule,
)
from rules.catalog.routine import BUCKETS, Routine, bucket_at, first_crossing, pieces
from rules.directory import DeviceInfo, Directory, HouseholdInfo
from rules.rule import Category, RuleState, Severity, Signal
from store.records import Event, Reading

SITE = "court"
HH = "hh-1"
DEVICES = ("hh-1-pir-living", "hh-1-pir-bedroom", "hh-1-door", "hh-1-bed", "hh-1-kettle")
SHANGHAI = "Asia/Shanghai"
BERLIN = "Europe/Berlin"
PARAMS = InactivityParams()
#: ln(1000): the integrated rate at which a silence's chance falls to p_alert = 1e-3.
TARGET = math.log(1000.0)


#: Each device's kind and household role, as the store's `household_device_roles` gives them.
ROLES = {
    "hh-1-pir-living": ("motion_sensor", "motion"),
    "hh-1-pir-bedroom": ("motion_sensor", "motion"),
    "hh-1-door": ("door_contact", "front_door"),
    "hh-1-bed": ("bed_sensor", "bed"),
    "hh-1-kettle": ("smart_plug", "appliance"),
}


def directory(zone: str = SHANGHAI, **extra: tuple[str, str]) -> Directory:
    """The household's devices with their roles, and `extra` devices (id=(kind, role))."""
    roles = {**ROLES, **extra}
    return Directory.of(
        households=[HouseholdInfo(SITE, HH, "Room 1", zone, devices=tuple(roles))],
        devices=[DeviceInfo(SITE, d, kind, role=role) for d, (kind, role) in roles.items()],
    )


def rule(zone: str = SHANGHAI, **params: object) -> InactivityRule:
    return InactivityRule("inactivity", InactivityParams(**params), directory(zone))  # type: ignore[arg-type]


def local(zone: str, day: int, hour: float, month: int = 3, year: int = 2025) -> datetime:
    """Local wall time `hour` (fractional) on `day` of `month`, as an aware UTC datetime."""
    h, m = int(hour), round((hour - int(hour)) * 60)
    return datetime(year, month, day, h, m, tzinfo=ZoneInfo(zone)).astimezone(UTC)


@dataclass
class Home:
    """What the household's sensors report, built up in any order."""

    readings: list[Reading] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def motion(self, *at: datetime, room: str = "living") -> Home:
        self.events += [Event(SITE, f"hh-1-pir-{room}", t, "motion") for t in at]
        return self

    def moving(self, start: datetime, end: datetime, every_s: float = 300.0) -> Home:
        steps = int((end - start).total_seconds() // every_s) + 1
        return self.motion(*(start + timedelta(seconds=every_s * i) for i in range(steps)))

    def bed(self, at: datetime, occupied: bool) -> Home:
        self.readings.append(Reading(SITE, "hh-1-bed", "occupancy", at, float(occupied)))
        return self

    def door(self, at: datetime) -> Home:
        self.events += [
            Event(SITE, "hh-1-door", at, "door_open"),
            Event(SITE, "hh-1-door", at + timedelta(seconds=8), "door_closed"),
        ]
        return self

    def reading(self, device: str, metric: str, at: datetime, value: float) -> Home:
        self.readings.append(Reading(SITE, device, metric, at, value))
        return self

    def view(self) -> BatchView:
        return view_of(self.readings, self.events)


def run(
    r: InactivityRule,
    *batches: tuple[BatchView, datetime],
    state: RuleState[HouseholdState] | None = None,
) -> tuple[list[Signal], RuleState[HouseholdState]]:
    state = state if state is not None else RuleState()
    out: list[Signal] = []
    for view, now in batches:
        signals, state = r.evaluate(view, state, now)
        out += signals
    return out, state


def trace(signals: Sequence[Signal], zone: str = SHANGHAI) -> list[tuple[str, str]]:
    return [(s.state.value, s.at.astimezone(ZoneInfo(zone)).strftime("%d %H:%M")) for s in signals]


def ticks(
    start: datetime, end: datetime, every_s: float = 300.0
) -> list[tuple[BatchView, datetime]]:
    n = int((end - start).total_seconds() // every_s)
    return [(BatchView(), start + timedelta(seconds=every_s * (i + 1))) for i in range(n)]


def hours(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 3600.0


# -- routine.py: local hours, DST, the hazard integral --------------------------------------------


@pytest.mark.parametrize(
    ("zone", "start", "end", "want"),
    [
        # Shanghai, no DST: 22:30 → 01:30 local is 0.5 h of 22, 1 h of 23 and 0, 0.5 h of 1
        (SHANGHAI, (10, 22.5), (11, 1.5), [(22, 0.5), (23, 1.0), (0, 1.0), (1, 0.5)]),
        # Berlin, clocks forward at 02:00 on 30 March: no local 02:00 hour, 3 real hours
        (BERLIN, (30, 0.5), (30, 4.5), [(0, 0.5), (1, 1.0), (3, 1.0), (4, 0.5)]),
    ],
)
def test_pieces_follow_local_hours(
    zone: str, start: tuple[int, float], end: tuple[int, float], want: list[tuple[int, float]]
) -> None:
    a, b = local(zone, *start).timestamp(), local(zone, *end).timestamp()
    p = pieces(a, b, ZoneInfo(zone))
    got = [
        (int(bucket) % 24, round(float(h), 6)) for bucket, h in zip(p.bucket, p.hours, strict=True)
    ]
    assert got == want
    assert float(p.hours.sum()) == pytest.approx(hours(local(zone, *start), local(zone, *end)))


def test_pieces_on_the_night_clocks_go_back() -> None:
    # 26 October 2025, Berlin: 02:00-03:00 local happens twice (CEST, then CET).
    zone = ZoneInfo(BERLIN)
    a = local(BERLIN, 26, 1.0, month=10).timestamp()
    p = pieces(a, a + 4 * 3600.0, zone)
    assert [int(b) % 24 for b in p.bucket] == [1, 2, 2, 3]
    assert p.hours.tolist() == [1.0, 1.0, 1.0, 1.0]
    # a Sunday: the weekend half of the buckets
    assert all(b >= 24 for b in p.bucket)


def test_weekday_and_weekend_buckets() -> None:
    zone = ZoneInfo(SHANGHAI)
    # 2025-03-07 is a Friday, 03-08 a Saturday; 23:30 Friday local is 15:30 UTC Friday
    assert bucket_at(local(SHANGHAI, 7, 23.5).timestamp(), zone) == 23
    assert bucket_at(local(SHANGHAI, 8, 0.5).timestamp(), zone) == 24
    assert bucket_at(local(SHANGHAI, 10, 7.25).timestamp(), zone) == 7


def test_learning_moves_a_bucket_from_the_prior_towards_the_data() -> None:
    zone = ZoneInfo(SHANGHAI)
    prior = np.full(BUCKETS, 1.0)
    routine = Routine()
    # Ten Monday silences in the 13:00 hour, each 0.5 h long, each ended by activity
    for week in range(10):
        start = local(SHANGHAI, 3, 13.0).timestamp() + week * 7 * 86_400.0
        routine = routine.learn(start, start + 1800.0, True, zone, memory_s=1e12)
    rates = routine.rates(prior, prior_weight_h=4.0)
    # pooled hour 13: (10 + 4) / (5 + 4); weekday bucket leans on it with the same weight
    pooled = 14.0 / 9.0
    assert rates[13] == pytest.approx((10 + 4 * pooled) / (5 + 4))
    assert rates[13 + 24] == pytest.approx(pooled)  # no weekend data: the pooled hour
    assert rates[3] == pytest.approx(1.0)  # untouched hours keep the prior


def test_a_censored_silence_adds_exposure_without_an_event_and_counts_decay() -> None:
    zone = ZoneInfo(SHANGHAI)
    t = local(SHANGHAI, 10, 9.0).timestamp()
    routine = Routine().learn(t, t + 3600.0, False, zone, memory_s=86_400.0)
    events, exposure = routine.arrays()
    assert events.sum() == 0 and exposure[9] == pytest.approx(1.0)
    # the next day, same hour: yesterday's hour has decayed by one time constant
    later = routine.learn(t + 86_400.0, t + 86_400.0 + 3600.0, True, zone, 86_400.0)
    events, exposure = later.arrays()
    assert exposure[9] == pytest.approx(math.exp(-1.0) + 1.0)
    assert events[10] == 1.0  # ended at 10:00: the event is in the hour it ended


def test_first_crossing_integrates_past_the_grace_period_only() -> None:
    zone = ZoneInfo(SHANGHAI)
    start = local(SHANGHAI, 10, 10.0).timestamp()
    rates = np.full(BUCKETS, 2.0)
    day = np.ones(BUCKETS)
    t = first_crossing(start, rates, 900.0, 4.0, day, 1e9, 86_400.0, zone)
    assert t == pytest.approx(start + 900.0 + 2 * 3600.0)
    # the daytime limit comes first
    t = first_crossing(start, rates, 900.0, 4.0, day, 3600.0, 86_400.0, zone)
    assert t == pytest.approx(start + 3600.0)
    # neither within the horizon
    assert first_crossing(start, rates, 900.0, 100.0, day, 1e9, 3600.0, zone) is None


# -- the rule: silences at home, in bed, away ------------------------------------------------------


def prior_due(since: datetime, zone: str, rate_day: float = 3.0) -> datetime:
    """When a daytime silence at home fires under the prior alone (day rate 3/h)."""
    return since + timedelta(seconds=900.0 + TARGET / rate_day * 3600.0)


@pytest.mark.parametrize("zone", [SHANGHAI, BERLIN])
def test_a_daytime_silence_fires_when_unusual_under_the_prior(zone: str) -> None:
    r = rule(zone)
    last = local(zone, 10, 10.0)
    home = Home().moving(local(zone, 10, 8.0), last)
    signals, state = run(r, (home.view(), last), *ticks(last, local(zone, 10, 14.0)))
    due = prior_due(last, zone)  # 10:00 + 15 min + ln(1000)/3 h ≈ 12:33
    assert [(s.state.value, s.at) for s in signals] == [("firing", due)]
    s = signals[0]
    assert (s.subject, s.site, s.category, s.severity) == (
        HH,
        SITE,
        Category.CARE,
        Severity.CRITICAL,
    )
    assert s.summary == "No activity at Room 1 for 2.6 h, unusual for this time of day"
    # activity again clears, at the moment it happened
    back = local(zone, 10, 15.0)
    cleared, _ = run(r, (Home().motion(back).view(), back), state=state)
    assert [(c.state.value, c.at) for c in cleared] == [("clear", back)]
    assert cleared[0].summary == "Activity at Room 1 again"


def test_the_tick_that_notices_does_not_move_the_firing_time() -> None:
    r = rule()
    last = local(SHANGHAI, 10, 10.0)
    view = Home().moving(local(SHANGHAI, 10, 8.0), last).view()
    every_5_min, _ = run(r, (view, last), *ticks(last, local(SHANGHAI, 10, 14.0)))
    one_late_tick, _ = run(r, (view, last), (BatchView(), local(SHANGHAI, 10, 23.0)))
    assert [s.at for s in every_5_min] == [s.at for s in one_late_tick]
    assert len(every_5_min) == 1


@pytest.mark.parametrize(
    ("gap_h", "want"),
    [
        pytest.param(2.0, [], id="a 2 h lull is fine"),
        pytest.param(3.0, ["firing", "clear"], id="3 h in one batch: fires at due, clears"),
    ],
)
def test_a_silence_inside_one_batch(gap_h: float, want: list[str]) -> None:
    r = rule()
    stop = local(SHANGHAI, 10, 10.0)
    resume = stop + timedelta(hours=gap_h)
    home = Home().moving(local(SHANGHAI, 10, 8.0), stop).moving(resume, resume + timedelta(hours=1))
    signals, _ = run(r, (home.view(), resume + timedelta(hours=1)))
    assert [s.state.value for s in signals] == want
    if want:
        assert signals[0].at == prior_due(stop, SHANGHAI)
        assert signals[1].at == resume


def test_min_silence_floor_and_daytime_cap() -> None:
    last = local(SHANGHAI, 10, 10.0)
    view = Home().motion(last).view()
    # a very sensitive model alone would fire 15 min in: the floor holds it to 30 min
    eager = rule(p_alert=0.5, prior_home_day_per_h=50.0)
    signals, _ = run(eager, (view, last), *ticks(last, local(SHANGHAI, 10, 12.0)))
    assert [s.at for s in signals] == [last + timedelta(seconds=1800)]
    # a lax model is overtaken by the daytime cap
    lax = rule(prior_home_day_per_h=0.5, max_silence_s=3 * 3600.0)
    signals, _ = run(lax, (view, last), *ticks(last, local(SHANGHAI, 10, 16.0)))
    assert [s.at for s in signals] == [last + timedelta(hours=3)]


def test_the_daytime_cap_does_not_count_the_night() -> None:
    # No bed sensor used: silence from 20:00 at home. Only 20:00-21:00 and from 07:00 count
    # towards the 6 h daytime cap: 1 h + 5 h → 12:00 next day, unless the total cap (14 h,
    # 10:00) or the model comes first. A lax model leaves the total cap.
    r = rule(prior_home_day_per_h=0.05, prior_home_night_per_h=0.05, max_silence_s=6 * 3600.0)
    last = local(SHANGHAI, 10, 20.0)
    signals, _ = run(r, (Home().motion(last).view(), last), *ticks(last, local(SHANGHAI, 11, 13.0)))
    assert [s.at for s in signals] == [last + timedelta(hours=14)]
    r = rule(prior_home_day_per_h=0.05, prior_home_night_per_h=0.05, max_rest_s=20 * 3600.0)
    signals, _ = run(r, (Home().motion(last).view(), last), *ticks(last, local(SHANGHAI, 11, 13.0)))
    assert [s.at for s in signals] == [local(SHANGHAI, 11, 12.0)]


@pytest.mark.parametrize(
    ("zone", "day", "month", "night_h"),
    [
        pytest.param(SHANGHAI, 10, 3, 8.75, id="Shanghai"),
        pytest.param(BERLIN, 29, 3, 7.75, id="Berlin, clocks go forward: a short night"),
        pytest.param(BERLIN, 25, 10, 9.75, id="Berlin, clocks go back: a long night"),
        pytest.param(BERLIN, 15, 7, 8.75, id="Berlin in summer"),
    ],
)
def test_no_wake_up_under_the_prior_in_local_time(
    zone: str, day: int, month: int, night_h: float
) -> None:
    """In bed at 22:00 local: the night (rate 0.15/h from 22:15 to 07:00 local) and then the
    morning (2/h) must add up to ln(1000). A night that loses an hour to DST accumulates less,
    one that gains an hour more; either way it is 07:00 local when the morning starts."""
    r = rule(zone)
    bedtime = local(zone, day, 22.0, month=month)
    home = Home().moving(local(zone, day, 18.0, month=month), bedtime).bed(bedtime, True)
    morning = local(zone, day + 1, 7.0, month=month)
    assert hours(bedtime + timedelta(minutes=15), morning) == pytest.approx(night_h)
    signals, _ = run(r, (home.view(), bedtime), *ticks(bedtime, morning + timedelta(hours=6)))
    want = morning + timedelta(hours=(TARGET - 0.15 * night_h) / 2.0)
    assert [s.state.value for s in signals] == ["firing"]
    assert signals[0].at == pytest.approx(want, abs=timedelta(seconds=1))
    assert signals[0].summary.startswith("No movement at Room 1 for ")


def test_a_bed_heartbeat_repeating_occupancy_does_not_restart_the_silence() -> None:
    r = rule()
    bedtime = local(SHANGHAI, 10, 22.0)
    home = Home().moving(local(SHANGHAI, 10, 18.0), bedtime).bed(bedtime, True)
    plain, _ = run(r, (home.view(), bedtime), *ticks(bedtime, local(SHANGHAI, 11, 13.0)))
    # Zigbee2MQTT: the bed republishes occupancy (a reading and a motion) every 50 min
    repeats = Home()
    for i in range(1, 15):
        t = bedtime + timedelta(minutes=50 * i)
        repeats.bed(t, True).events.append(Event(SITE, "hh-1-bed", t, "motion"))
        repeats.reading("hh-1-bed", "battery_pct", t, 80.0)
    chatty, _ = run(
        r,
        (home.view(), bedtime),
        (repeats.view(), bedtime + timedelta(hours=12)),
        *ticks(bedtime + timedelta(hours=12), local(SHANGHAI, 11, 13.0)),
    )
    assert [s.at for s in chatty] == [s.at for s in plain] and len(plain) == 1


def test_getting_up_at_night_and_back_to_bed_is_a_new_rest() -> None:
    r = rule()
    bedtime = local(SHANGHAI, 10, 22.0)
    trip = local(SHANGHAI, 11, 3.0)
    back = trip + timedelta(minutes=5)
    home = Home().motion(bedtime).bed(bedtime, True).bed(trip, False)
    home.motion(trip + timedelta(minutes=1), room="bedroom").bed(back, True)
    signals, state = run(r, (home.view(), back), *ticks(back, local(SHANGHAI, 11, 12.0)))
    s = state.get(f"{SITE}/{HH}/inactivity")
    assert s is not None and s.mode == "rest" and s.rest_device == "hh-1-bed"
    # The silence counts from 03:20 (03:05 + grace). The 22:00-03:00 rest was learned, ending
    # in the 03:00 hour: that hour's rate rises from the prior's 0.15 to (1 + 4 × 0.4) / 4,
    # the pooled hour being (1 + 4 × 0.15) / 4. From 07:00 the prior's morning rate, 2/h.
    night = 0.65 * 40 / 60 + 0.15 * 3
    want = local(SHANGHAI, 11, 7.0) + timedelta(hours=(TARGET - night) / 2.0)
    assert [sig.at for sig in signals] == [pytest.approx(want, abs=timedelta(seconds=1))]


def test_out_of_the_door_is_away_until_away_max() -> None:
    r = rule(away_max_s=48 * 3600.0)
    left = local(SHANGHAI, 10, 9.0)
    home = Home().moving(local(SHANGHAI, 10, 8.0), left).door(left)
    signals, _ = run(r, (home.view(), left), *ticks(left, local(SHANGHAI, 12, 9.5), 1800.0))
    assert [(s.state.value, s.at) for s in signals] == [
        ("firing", left + timedelta(seconds=8, hours=48))
    ]
    assert (
        signals[0].summary == "Room 1 has been away for 48.0 h since the front door was last used"
    )


def test_coming_home_ends_the_absence_and_starts_the_clock_again() -> None:
    r = rule()
    left, back = local(SHANGHAI, 10, 9.0), local(SHANGHAI, 11, 16.0)
    home = Home().motion(local(SHANGHAI, 10, 8.5)).door(left).door(back)
    home.motion(back + timedelta(minutes=1))
    signals, _ = run(r, (home.view(), back), *ticks(back, local(SHANGHAI, 11, 21.0)))
    assert [s.at for s in signals] == [prior_due(back + timedelta(minutes=1), SHANGHAI)]


@pytest.mark.parametrize(
    ("extra", "want_last"),
    [
        pytest.param(
            ("hh-1-pir-living", "battery_pct", 90.0), 10.0, id="a heartbeat is no activity"
        ),
        pytest.param(
            ("hh-1-door", "door_open", 0.0), 10.0, id="door state repeated is no activity"
        ),
        pytest.param(("hh-1-door", "door_open", 1.0), 11.0, id="door state changing is"),
        pytest.param(("hh-1-kettle", "power_w", 1800.0), 11.0, id="the kettle on is activity"),
        pytest.param(("hh-1-kettle", "power_w", 2.0), 10.0, id="standby power is not"),
        pytest.param(("hh-1-pir-living", "occupancy", 0.0), 10.0, id="a PIR's timeout is not"),
        pytest.param(("hh-1-pir-living", "occupancy", 1.0), 11.0, id="a PIR's occupancy is"),
        pytest.param(("hh-1-bed", "occupancy", math.nan), 10.0, id="NaN is a gap"),
    ],
)
def test_what_counts_as_activity(extra: tuple[str, str, float], want_last: float) -> None:
    r = rule()
    home = (
        Home()
        .motion(local(SHANGHAI, 10, 10.0))
        .reading("hh-1-door", "door_open", local(SHANGHAI, 10, 9.0), 0.0)
    )
    device, metric, value = extra
    home.reading(device, metric, local(SHANGHAI, 10, 11.0), value)
    _, state = run(r, (home.view(), local(SHANGHAI, 10, 11.5)))
    s = state.get(f"{SITE}/{HH}/inactivity")
    assert s is not None and s.since == local(SHANGHAI, 10, want_last).timestamp()


def test_a_sos_press_and_devices_of_no_household_are_ignored() -> None:
    r = rule()
    last = local(SHANGHAI, 10, 10.0)
    view = view_of(
        [Reading(SITE, "tank-01", "level_pct", last, 50.0)],
        [
            Event(SITE, "hh-1-pir-living", last, "motion"),
            Event(SITE, "hh-1-bed", last + timedelta(hours=1), "sos"),
            Event(SITE, "elsewhere-pir", last + timedelta(hours=1), "motion"),
        ],
    )
    _, state = run(r, (view, last + timedelta(hours=1)))
    assert list(state) == [f"{SITE}/{HH}/inactivity"]
    s = state.get(f"{SITE}/{HH}/inactivity")
    assert s is not None and s.since == last.timestamp()


def test_a_household_never_heard_from_never_fires() -> None:
    signals, state = run(rule(), *ticks(local(SHANGHAI, 10, 0.0), local(SHANGHAI, 12, 0.0), 3600.0))
    assert signals == [] and len(state) == 0


def test_out_of_order_input_and_late_samples() -> None:
    r = rule()
    last = local(SHANGHAI, 10, 10.0)
    home = Home().moving(local(SHANGHAI, 10, 8.0), last)
    shuffled = Home(list(reversed(home.readings)), list(reversed(home.events)))
    assert run(r, (shuffled.view(), last))[1] == run(r, (home.view(), last))[1]
    # a sample older than what was already evaluated is late: skipped
    _, state = run(r, (home.view(), last))
    late = Home().motion(local(SHANGHAI, 10, 9.0)).view()
    _, after = run(r, (late, last), state=state)
    assert after == state


def test_state_survives_json_between_any_two_batches() -> None:
    r = rule()
    bedtime = local(SHANGHAI, 10, 22.0)
    home = (
        Home()
        .moving(local(SHANGHAI, 10, 7.0), bedtime)
        .bed(bedtime, True)
        .door(local(SHANGHAI, 10, 9.0))
    )
    batches = [(home.view(), bedtime), *ticks(bedtime, local(SHANGHAI, 11, 12.0), 1800.0)]
    straight, _ = run(r, *batches)
    state: RuleState[HouseholdState] = RuleState()
    restarted: list[Signal] = []
    for view, now in batches:
        signals, state = r.evaluate(view, state, now)
        restarted += signals
        state = r.load_state(orjson.loads(orjson.dumps(state.to_json())))
    assert restarted == straight and len(straight) == 1


def test_a_corrupt_state_is_reported_by_key() -> None:
    with pytest.raises(ValueError, match="hh-1"):
        rule().load_state({"court/hh-1/inactivity": {"mode": "asleep", "firing": False}})


# -- learning ----------------------------------------------------------------------------------


def routine_days(days: int, nap: tuple[float, float] | None, zone: str = SHANGHAI) -> Home:
    """Up at 07:00, about the flat every 5 min until 21:30, in bed until the next morning;
    `nap`: a silent stretch (local hours) every afternoon, away from the bed."""
    home = Home()
    for d in range(days):
        day = 3 + d
        up = local(zone, day, 7.0)
        home.bed(up, False)
        if nap is None:
            home.moving(up, local(zone, day, 21.5))
        else:
            home.moving(up, local(zone, day, nap[0]))
            home.moving(local(zone, day, nap[1]), local(zone, day, 21.5))
        home.bed(local(zone, day, 21.5), True)
    return home


def test_a_daily_long_nap_is_learned_as_normal() -> None:
    r = rule()
    nap = (13.0, 16.0)  # 3 h without a sound: unusual for the prior (3/h by day)
    days = routine_days(14, nap)
    learned_from, _ = run(r, (days.view(), local(SHANGHAI, 16, 23.0)))

    # the first afternoon is unusual; from the second on it is the routine
    assert trace(learned_from) == [("firing", "03 15:33"), ("clear", "03 16:00")]


def test_learned_rates_make_a_late_morning_fire_earlier_than_the_prior() -> None:
    r = rule()
    # Two weeks up at 07:00 sharp; on the 16th in bed at 21:30 as always, and never up again
    bedtime = local(SHANGHAI, 16, 21.5)
    learned, _ = run(
        r,
        (routine_days(14, None).view(), bedtime),
        *ticks(bedtime, local(SHANGHAI, 17, 14.0)),
    )
    bedtime = local(SHANGHAI, 3, 21.5)
    prior_only, _ = run(
        r,
        (routine_days(1, None).view(), bedtime),
        *ticks(bedtime, local(SHANGHAI, 4, 14.0)),
    )
    # 07:xx still in bed is already odd for this resident; the prior needs until ~09:45
    assert trace(learned) == [("firing", "17 08:17")]
    assert trace(prior_only) == [("firing", "04 09:45")]


def test_a_silence_that_fired_is_not_learned_as_normal() -> None:
    r = rule()
    last = local(SHANGHAI, 10, 10.0)
    view = Home().motion(last).motion(local(SHANGHAI, 10, 20.0)).view()
    _, state = run(r, (view, local(SHANGHAI, 10, 20.0)))
    s = state.get(f"{SITE}/{HH}/inactivity")
    assert s is not None
    events, exposure = s.home.arrays()
    assert events.sum() == 0  # censored at the firing time, 10:00 + 15 min + 2.3 h
    assert exposure.sum() == pytest.approx(TARGET / 3.0)


# -- params --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field_name"),
    [
        ({"p_alert": 0.0}, "p_alert"),
        ({"p_alert": 1.0}, "p_alert"),
        ({"grace_s": 0.0}, "grace_s"),
        ({"min_silence_s": 600.0}, "min_silence_s"),
        ({"max_silence_s": 60.0}, "max_silence_s"),
        ({"away_max_s": math.inf}, "away_max_s"),
        ({"day_start": time(7), "day_end": time(7)}, "day_end"),
        ({"prior_rest_day_per_h": 0.0}, "prior_rest_day_per_h"),
        ({"activity_levels": {"power_w": math.nan}}, "activity_levels.power_w"),
    ],
)
def test_invalid_params(kwargs: dict[str, object], field_name: str) -> None:
    with pytest.raises(ValidationError, match=field_name):
        InactivityParams(**kwargs)  # type: ignore[arg-type]


def rule_with(extra: dict[str, tuple[str, str]]) -> InactivityRule:
    return InactivityRule("inactivity", PARAMS, directory(**extra))


def test_rest_sensors_by_role_not_by_name() -> None:
    # A seat sensor named "Seat" (its id says nothing), a bed mat, a sofa-named sensor that is
    # a motion sensor, and one the directory gives no role: only the bed and seat roles rest.
    d = Directory.of(
        households=[
            HouseholdInfo(SITE, HH, "", SHANGHAI, devices=("0x00158d01", "mat-3", "sofa-12", "p1"))
        ],
        devices=[
            DeviceInfo(SITE, "0x00158d01", "seat_sensor", role="seat"),
            DeviceInfo(SITE, "mat-3", "bed_sensor", role="bed"),
            DeviceInfo(SITE, "sofa-12", "motion_sensor", role="motion"),
        ],
    )
    r = InactivityRule("i", PARAMS, d)
    t = local(SHANGHAI, 10, 12.0)
    for device, mode in (("0x00158d01", "rest"), ("mat-3", "rest"), ("sofa-12", "home"),
                         ("p1", "home")):  # fmt: skip
        view = view_of([Reading(SITE, device, "occupancy", t, 1.0)])
        _, state = r.evaluate(view, RuleState(), t)
        s = state.get(f"{SITE}/{HH}/inactivity")
        assert s is not None and s.mode == mode, device
    assert replace(PARAMS).threshold == pytest.approx(TARGET)


def test_an_evening_in_the_seat_is_rest_not_a_silence() -> None:
    # 3.5 h of television from 18:00 on a seat sensor named "Seat" (role seat): at home, the
    # prior's daytime hazard (3/h) calls this silence alarming after ~2.5 h; resting (2/h by
    # day, 0.15/h from 21:00) it is not.
    seat = {"0x00158d01": ("seat_sensor", "seat")}
    sit, up = local(SHANGHAI, 10, 18.0), local(SHANGHAI, 10, 21.5)
    day = Home().moving(local(SHANGHAI, 10, 9.0), sit - timedelta(minutes=5))
    day.reading("0x00158d01", "occupancy", sit, 1.0)
    later = Home().reading("0x00158d01", "occupancy", up, 0.0)
    signals, _ = run(rule_with(seat), (day.view(), sit), *ticks(sit, up), (later.view(), up))
    assert signals == []
    # The same data from a device of no resting role fires: its occupancy is one moment.
    other = {"0x00158d01": ("other", "other")}
    signals, _ = run(rule_with(other), (day.view(), sit), *ticks(sit, up), (later.view(), up))
    assert [s.state.value for s in signals] == ["firing"]


def test_bed_occupied_events_are_rest() -> None:
    # A native bed sensor sends events, no occupancy reading: in bed at 22:00, up at 09:15
    # (late, but within what a night in bed allows), nothing fires.
    mat = {"hh-1-mat": ("bed_sensor", "bed")}
    bedtime, up = local(SHANGHAI, 10, 22.0), local(SHANGHAI, 11, 9.25)
    evening = Home().moving(local(SHANGHAI, 10, 18.0), bedtime - timedelta(minutes=5))
    evening.events.append(Event(SITE, "hh-1-mat", bedtime, "bed_occupied"))
    morning = Home()
    morning.events.append(Event(SITE, "hh-1-mat", up, "bed_vacant"))
    signals, state = run(
        rule_with(mat), (evening.view(), bedtime), *ticks(bedtime, up), (morning.view(), up)
    )
    assert signals == []
    s = state.get(f"{SITE}/{HH}/inactivity")
    assert s is not None and s.mode == "home" and s.since == up.timestamp()
    # The event says so whatever sent it: a seat_occupied from a device of role `other`.
    t = local(SHANGHAI, 10, 15.0)
    view = view_of([], [Event(SITE, "x-1", t, "seat_occupied")])
    _, state = rule_with({"x-1": ("other", "other")}).evaluate(view, RuleState(), t)
    s = state.get(f"{SITE}/{HH}/inactivity")
    assert s is not None and s.mode == "rest" and s.rest_device == "x-1"


@pytest.mark.parametrize("reading", [False, True], ids=["events", "reading"])
def test_only_the_front_door_means_away(reading: bool) -> None:
    # Motion all morning, then a door at 14:00 and nothing more. The front door: the resident
    # went out (away: only `away_max_s` fires). The fridge door: someone was in the kitchen,
    # and the silence after it is a silence at home (a fall after closing the fridge).
    fridge = {"hh-1-fridge": ("door_contact", "other_door")}
    t = local(SHANGHAI, 10, 14.0)

    def opened(device: str) -> Home:
        home = Home().moving(local(SHANGHAI, 10, 8.0), t - timedelta(minutes=10))
        if reading:  # Zigbee2MQTT: a 0/1 contact reading, repeated in heartbeats
            for k, v in enumerate((0.0, 1.0, 0.0, 0.0)):
                home.reading(device, "door_open", t + timedelta(seconds=10 * k - 10), v)
        else:
            home.events += [
                Event(SITE, device, t, "door_open"),
                Event(SITE, device, t + timedelta(seconds=8), "door_closed"),
            ]
        return home

    end = t + timedelta(hours=10)
    front, state = run(rule_with(fridge), (opened("hh-1-door").view(), t), *ticks(t, end))
    assert front == []
    s = state.get(f"{SITE}/{HH}/inactivity")
    assert s is not None and s.mode == "away"
    kitchen, state = run(rule_with(fridge), (opened("hh-1-fridge").view(), t), *ticks(t, end))
    assert [s.state.value for s in kitchen] == ["firing"]
    assert kitchen[0].summary_key == SILENT
    s = state.get(f"{SITE}/{HH}/inactivity")
    assert s is not None and s.mode == "home"
