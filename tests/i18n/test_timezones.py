"""Local time for a household in Asia/Shanghai and one in Europe/Berlin, the nights Berlin's
clocks change included: routine learning, quiet hours, and the times people read."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from api.pages import language as pages_language
from i18n.localformat import local_datetime
from rules.catalog.doors import QuietHoursParams
from rules.catalog.routine import HOURS, Routine, bucket_at
from rules.notify.fanout import quiet_until
from rules.notify.messages import Place, render
from store.alerts.records import Alert, AlertChange

SHANGHAI = "Asia/Shanghai"
BERLIN = "Europe/Berlin"
# 2026: Berlin goes to summer time on 29 March (02:00 -> 03:00), back on 25 October
# (03:00 -> 02:00). Shanghai has no daylight-saving time.
SPRING = datetime(2026, 3, 29, tzinfo=UTC)
AUTUMN = datetime(2026, 10, 25, tzinfo=UTC)


def local(zone: str, *args: int) -> datetime:
    """A wall-clock time in `zone` as an aware UTC datetime."""
    return datetime(*args, tzinfo=ZoneInfo(zone)).astimezone(UTC)  # type: ignore[misc]


# Routine learning: a resident who gets up at 07:30 local every day, across the change.


def _mornings(zone: str, first: datetime, days: int) -> list[float]:
    start = first.astimezone(ZoneInfo(zone)).date()
    return [
        local(zone, d.year, d.month, d.day, 7, 30).timestamp()
        for d in (start + timedelta(days=n) for n in range(days))
    ]


@pytest.mark.parametrize("zone", [SHANGHAI, BERLIN])
@pytest.mark.parametrize("around", [SPRING, AUTUMN], ids=["spring", "autumn"])
def test_a_daily_wake_up_is_learned_at_its_local_hour(zone: str, around: datetime) -> None:
    wakes = _mornings(zone, around - timedelta(days=5), 10)
    tz = ZoneInfo(zone)
    routine = Routine()
    # Each night's silence, from 22:00 local to the wake-up, ended by the wake-up.
    for wake in wakes:
        day = datetime.fromtimestamp(wake, tz).date() - timedelta(days=1)
        bedtime = local(zone, day.year, day.month, day.day, 22, 0).timestamp()
        routine = routine.learn(bedtime, wake, True, tz, memory_s=1e15)  # no forgetting
    events, exposure = routine.arrays()
    by_hour = events[:HOURS] + events[HOURS:]
    assert by_hour[7] == pytest.approx(10, rel=1e-3)  # every wake-up in the 07:00 hour
    assert by_hour.sum() == pytest.approx(by_hour[7])
    # The silences were 9.5 h every night, whatever the clocks did: exposure counts real hours.
    hours = np.asarray(exposure).sum()
    changed = 1.0 if zone == BERLIN else 0.0
    expected = 10 * 9.5 + (-changed if around is SPRING else changed)
    assert hours == pytest.approx(expected, rel=1e-3)


def test_the_same_instant_is_a_different_local_hour_in_each_household() -> None:
    at = datetime(2026, 7, 1, 6, 0, tzinfo=UTC).timestamp()  # a Wednesday
    assert bucket_at(at, ZoneInfo(SHANGHAI)) == 14
    assert bucket_at(at, ZoneInfo(BERLIN)) == 8


# Quiet hours 22:00-07:00: when notifications may go, and when a door opening is at night.


@pytest.mark.parametrize(
    ("zone", "now", "until"),
    [
        # Shanghai: 23:00 local is quiet until 07:00 local (23:00 UTC the day before).
        (SHANGHAI, local(SHANGHAI, 2026, 3, 28, 23, 0), local(SHANGHAI, 2026, 3, 29, 7, 0)),
        (SHANGHAI, local(SHANGHAI, 2026, 3, 29, 7, 0), None),
        # Berlin, spring: the night is an hour shorter; quiet ends at 07:00 summer time.
        (BERLIN, local(BERLIN, 2026, 3, 28, 23, 0), datetime(2026, 3, 29, 5, 0, tzinfo=UTC)),
        (BERLIN, datetime(2026, 3, 29, 0, 59, tzinfo=UTC), datetime(2026, 3, 29, 5, 0, tzinfo=UTC)),
        # Berlin, autumn: the night is an hour longer; quiet ends at 07:00 winter time.
        (BERLIN, local(BERLIN, 2026, 10, 24, 23, 0), datetime(2026, 10, 25, 6, 0, tzinfo=UTC)),
        (
            BERLIN,
            datetime(2026, 10, 25, 5, 30, tzinfo=UTC),
            datetime(2026, 10, 25, 6, 0, tzinfo=UTC),
        ),
        (BERLIN, datetime(2026, 10, 25, 6, 0, tzinfo=UTC), None),
        # 21:59 local is not quiet in either zone.
        (BERLIN, local(BERLIN, 2026, 10, 24, 21, 59), None),
        (SHANGHAI, local(SHANGHAI, 2026, 10, 24, 21, 59), None),
    ],
)
def test_quiet_hours_end_at_the_households_local_morning(
    zone: str, now: datetime, until: datetime | None
) -> None:
    assert quiet_until(now, zone, time(22, 0), time(7, 0)) == until


@pytest.mark.parametrize(
    ("zone", "at", "quiet"),
    [
        (SHANGHAI, local(SHANGHAI, 2026, 3, 29, 2, 30), True),
        (SHANGHAI, local(SHANGHAI, 2026, 3, 29, 7, 30), False),
        # 06:30 UTC is 07:30 in Berlin's summer but 07:30 came an hour earlier in winter:
        (BERLIN, datetime(2026, 3, 29, 5, 30, tzinfo=UTC), False),  # 07:30 CEST
        (BERLIN, datetime(2026, 3, 28, 5, 30, tzinfo=UTC), True),  # 06:30 CET
        # Both 02:30 of the autumn night are quiet.
        (BERLIN, datetime(2026, 10, 25, 0, 30, tzinfo=UTC), True),
        (BERLIN, datetime(2026, 10, 25, 1, 30, tzinfo=UTC), True),
        (BERLIN, datetime(2026, 10, 25, 6, 30, tzinfo=UTC), False),  # 07:30 CET
    ],
)
def test_a_door_opening_is_at_night_by_the_households_clock(
    zone: str, at: datetime, quiet: bool
) -> None:
    params = QuietHoursParams(timezone=zone, start=time(22, 0), end=time(7, 0))
    assert params.is_quiet(at.timestamp()) is quiet


# What people read: notification texts and dashboard times on the household's clock.

T0 = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST in Berlin, 08:30 in Shanghai
ALERT = Alert(
    id=1,
    dedup_key="inactivity:court/h1",
    rule_id="inactivity",
    site_id="court",
    subject="h1",
    household_id="h1",
    category="care",
    severity="warning",
    status="open",
    summary_key="No activity at {household} for {hours} h, unusual for this time of day",
    summary_args={"household": "3-201", "hours": 5.5},
    value=5.5,
    metric="silence_h",
    first_seen=T0,
    last_seen=T0,
    occurrences=1,
    assignee=None,
    outcome=None,
    escalation_tier=1,
    next_escalation_at=None,
    next_reminder_at=None,
    acknowledged_at=None,
    acknowledged_by=None,
    resolved_at=None,
    resolved_by=None,
)


def _body(zone: str, language: str, first_seen: datetime = T0) -> list[str]:
    alert = dataclasses.replace(ALERT, first_seen=first_seen, last_seen=first_seen)
    change = AlertChange(1, 1, first_seen, "rule:inactivity", "raised", {})
    return render(alert, change, Place(zone, "3-201"), language=language).body.splitlines()


@pytest.mark.parametrize(
    ("zone", "language", "line"),
    [
        (SHANGHAI, "zh-CN", "首次发生于 2026年10月25日 08:30（中国标准时间）。"),
        (SHANGHAI, "en", "First seen at Oct 25, 2026, 08:30 (China Standard Time)."),
        (BERLIN, "zh-CN", "首次发生于 2026年10月25日 02:30（中欧夏令时间）。"),
        (BERLIN, "en", "First seen at Oct 25, 2026, 02:30 (Central European Summer Time)."),
    ],
)
def test_notifications_tell_the_households_local_time_and_zone(
    zone: str, language: str, line: str
) -> None:
    assert line in _body(zone, language)


def test_the_repeated_hour_of_the_autumn_night_reads_differently() -> None:
    first = _body(BERLIN, "en", datetime(2026, 10, 25, 0, 30, tzinfo=UTC))
    second = _body(BERLIN, "en", datetime(2026, 10, 25, 1, 30, tzinfo=UTC))
    assert "First seen at Oct 25, 2026, 02:30 (Central European Summer Time)." in first
    assert "First seen at Oct 25, 2026, 02:30 (Central European Standard Time)." in second


@pytest.mark.parametrize(
    ("zone", "at", "language", "shown"),
    [
        (SHANGHAI, T0, "zh-CN", "2026年10月25日 08:30"),
        (SHANGHAI, T0, "en", "Oct 25, 2026, 08:30"),
        # A zone with daylight-saving time shows the offset, so 02:30 is never ambiguous.
        (BERLIN, T0, "zh-CN", "2026年10月25日 02:30 (UTC+2)"),
        (BERLIN, T0 + timedelta(hours=1), "zh-CN", "2026年10月25日 02:30 (UTC+1)"),
        (BERLIN, datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "en", "Mar 29, 2026, 03:30 (UTC+2)"),
    ],
)
def test_dashboard_times_are_on_the_households_clock(
    zone: str, at: datetime, language: str, shown: str
) -> None:
    with pages_language.speaking(language):
        assert pages_language.localtime(at, zone) == shown


def test_a_time_in_the_spring_gap_does_not_exist_on_the_clock() -> None:
    # 01:00 UTC on the spring night is 03:00 CEST: 02:xx never shows.
    assert local_datetime(datetime(2026, 3, 29, 1, 0, tzinfo=UTC), BERLIN, "en").endswith("03:00")
    assert local_datetime(datetime(2026, 3, 29, 0, 59, tzinfo=UTC), BERLIN, "en").endswith("01:59")
