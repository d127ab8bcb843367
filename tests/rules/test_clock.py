"""The event clock as a watermark: lateness, never backwards, a fast device clock ignored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from rules.clock import WINDOW, EventClock, WallClock, clock_for
from rules.settings import RulesSettings

T0 = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


def epochs(*offsets_s: float) -> np.ndarray:
    return T0.timestamp() + np.asarray(offsets_s, dtype=np.float64)


def test_now_is_the_newest_time_less_the_lateness_and_never_moves_back() -> None:
    clock = EventClock(lateness_s=60)
    clock.observe(epochs(0, 30, 300))
    assert clock.now() == T0 + timedelta(seconds=240)
    clock.observe(epochs(100))  # late data does not turn the clock back
    assert clock.now() == T0 + timedelta(seconds=240)
    clock.observe(epochs())
    assert clock.now() == T0 + timedelta(seconds=240)


def test_before_any_data_now_is_the_start_and_data_before_it_does_not_move_it_back() -> None:
    clock = EventClock(start=T0, lateness_s=60)
    assert clock.now() == T0
    clock.observe(epochs(30))
    assert clock.now() == T0
    clock.observe(epochs(600))
    assert clock.now() == T0 + timedelta(seconds=540)


def test_a_device_clock_running_an_hour_fast_does_not_move_now() -> None:
    clock = EventClock(lead_tolerance_s=300)
    # A site's minute of data every minute; one device an hour ahead, alone in its batch and
    # mixed into another.
    for minute in range(30):
        clock.observe(epochs(*(minute * 60 + s for s in range(0, 60, 2))))
    clock.observe(epochs(30 * 60 + 3600))
    clock.observe(epochs(30 * 60, 30 * 60 + 10, 30 * 60 + 3600))
    assert clock.now() == T0 + timedelta(seconds=30 * 60 + 10)


def test_when_the_whole_site_moves_ahead_the_clock_follows() -> None:
    clock = EventClock(lead_tolerance_s=300)
    clock.observe(epochs(*range(0, WINDOW)))
    gap = WINDOW + 3600.0  # an hour without any data, then everything resumes
    resumed = [gap + s for s in range(WINDOW // 5)]
    for start in range(0, len(resumed), 10):
        clock.observe(epochs(*resumed[start : start + 10]))
    assert clock.now() == T0 + timedelta(seconds=resumed[-1])


def test_the_settings_choose_the_clock() -> None:
    assert isinstance(clock_for(RulesSettings()), WallClock)
    event = clock_for(RulesSettings(clock="event", event_lateness_s=5), start=T0)
    assert isinstance(event, EventClock)
    event.observe(epochs(65))
    assert event.now() == T0 + timedelta(seconds=60)


def test_the_wall_clock_ignores_data() -> None:
    clock = WallClock()
    clock.observe(epochs(10**6))
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_a_status_arrives_with_the_newest_data_not_the_lateness_behind() -> None:
    clock = EventClock(lateness_s=60)
    clock.observe(epochs(0, 300))
    assert clock.arrival() == T0 + timedelta(seconds=300)
    assert clock.now() == T0 + timedelta(seconds=240)
    assert EventClock(start=T0).arrival() == T0
    assert EventClock().arrival() is None  # nothing to place it against yet


HOUR = 3600.0


def test_a_lone_device_reporting_hourly_moves_the_clock_batch_by_batch() -> None:
    clock = EventClock(lead_tolerance_s=300)
    for hour in range(48):  # each report alone in its batch, as a slow replay sends it
        clock.observe(epochs(hour * HOUR))
        assert clock.now() == T0 + timedelta(hours=hour)


def test_a_lone_device_reporting_hourly_moves_the_clock_in_large_batches() -> None:
    clock = EventClock(lead_tolerance_s=300)
    hours = np.arange(1200) * HOUR  # 50 days, more than the window holds
    for start in range(0, hours.size, 200):
        clock.observe(T0.timestamp() + hours[start : start + 200])
    assert clock.now() == T0 + timedelta(hours=1199)


def test_a_lone_device_resuming_after_a_gap_is_followed_once_later_reports_confirm_it() -> None:
    clock = EventClock(lead_tolerance_s=300)
    for hour in range(24):
        clock.observe(epochs(hour * HOUR))
    resumed = [(24 + 10 + i) * HOUR for i in range(4)]  # off for ten hours, then hourly again
    for offset in resumed:
        clock.observe(epochs(offset))
    assert clock.now() == T0 + timedelta(seconds=resumed[-1])


def test_a_far_future_timestamp_of_a_lone_hourly_device_does_not_drag_the_clock() -> None:
    clock = EventClock(lead_tolerance_s=300)
    bogus = 30 * 24 * HOUR
    for hour in range(12):
        clock.observe(epochs(hour * HOUR))
    clock.observe(epochs(bogus))  # alone in its batch
    for hour in range(12, 24):
        clock.observe(epochs(hour * HOUR))
    assert clock.now() == T0 + timedelta(hours=23)
    clock.observe(epochs(*(h * HOUR for h in range(24, 36)), bogus + HOUR))  # within a batch
    clock.observe(epochs(36 * HOUR))
    assert clock.now() == T0 + timedelta(hours=36)


def test_a_device_an_hour_fast_among_a_busy_site_does_not_move_now_in_replay_batches() -> None:
    clock = EventClock(lead_tolerance_s=300)
    for minute in range(60):  # each batch: the site's minute, and the fast device's report
        site = [minute * 60 + s for s in range(0, 60, 2)]
        clock.observe(epochs(*site, minute * 60 + HOUR))
    assert clock.now() == T0 + timedelta(seconds=59 * 60 + 58)


def test_a_device_an_hour_fast_does_not_move_now_where_a_replay_batch_runs_into_its_hour() -> None:
    clock = EventClock(lead_tolerance_s=300)
    site, fast = [], []
    for minute in range(60):  # an hour of a busy site, the fast device's reports among it
        site.extend(minute * 60 + s / 2 for s in range(120))
        fast.append(minute * 60 + HOUR)
    clock.observe(epochs(*site, *fast))
    clock.observe(epochs(*(HOUR + s / 2 for s in range(120))))  # the next minute
    assert clock.now() <= T0 + timedelta(seconds=HOUR + 60 + 300)
