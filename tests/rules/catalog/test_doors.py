from __future__ import annotations

import math
from datetime import UTC, datetime, time

import orjson
import pytest
from pydantic import ValidationError

from rules.arrays import BatchView, view_of
from rules.catalog.doors import (
    DoorHeldParams,
    DoorHeldRule,
    DoorState,
    OpeningState,
    QuietHoursParams,
    QuietHoursRule,
)
from rules.rule import Category, RuleState
from store.records import Event, Reading
from tests.rules.catalog.views import SITE, at, events, merge, series, trace

HELD = DoorHeldRule("door-held", DoorHeldParams(hold_s=300))


def held(*batches: tuple[BatchView, float]) -> list[tuple[str, float]]:
    state: RuleState[DoorState] = RuleState()
    out = []
    for view, now in batches:
        signals, state = HELD.evaluate(view, state, at(now))
        out += trace(signals)
    return out


@pytest.mark.parametrize(
    ("view", "now", "want"),
    [
        pytest.param(
            series("door_open", [(0, 1), (100, 1), (400, 0)]),
            400,
            [("firing", 300), ("clear", 400)],
            id="held then closed",
        ),
        pytest.param(series("door_open", [(0, 1), (299, 0)]), 1000, [], id="closed just in time"),
        pytest.param(
            series("door_open", [(0, 1), (300, 0)]),
            1000,
            [("firing", 300), ("clear", 300)],
            id="closed exactly at hold",
        ),
        pytest.param(events("door_open", [0]), 299.9, [], id="open, now short of hold"),
        pytest.param(events("door_open", [0]), 300, [("firing", 300)], id="open, now at hold"),
        pytest.param(
            merge(events("door_open", [0]), events("door_closed", [400])),
            400,
            [("firing", 300), ("clear", 400)],
            id="events",
        ),
        pytest.param(
            series("door_open", [(400, 0), (0, 1), (200, math.nan)]),
            400,
            [("firing", 300), ("clear", 400)],
            id="out of order with a NaN gap",
        ),
        pytest.param(
            series("door_open", [(0, 1), (200, 1), (250, 1)]),
            250,
            [],
            id="repeated open readings do not restart the hold",
        ),
        pytest.param(series("door_open", [(0, 0), (10, 0)]), 1000, [], id="closed all along"),
    ],
)
def test_door_held(view: BatchView, now: float, want: list[tuple[str, float]]) -> None:
    assert held((view, now)) == want


def test_hold_completes_on_a_timer_tick_then_clears_in_a_later_batch() -> None:
    assert held(
        (events("door_open", [0]), 10),
        (BatchView(), 200),
        (BatchView(), 400),
        (events("door_closed", [500]), 500),
    ) == [("firing", 300), ("clear", 500)]


def test_state_round_trip() -> None:
    _, state = HELD.evaluate(series("door_open", [(0, 1)]), RuleState(), at(0))
    state = HELD.load_state(orjson.loads(orjson.dumps(state.to_json())))
    (s,), _ = HELD.evaluate(BatchView(), state, at(301))
    assert s.at == at(300)
    assert s.category is Category.SECURITY
    assert s.summary == "Door dev1 has been open for more than 5.0 min"


def opened(*utc: datetime, device: str = "front") -> BatchView:
    return view_of([], [Event(SITE, device, t, "door_open") for t in utc])


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "when", "quiet"),
    [
        # Shanghai is UTC+8 all year
        ("Asia/Shanghai", utc(2025, 1, 15, 15, 0), True),  # 23:00 local
        ("Asia/Shanghai", utc(2025, 1, 15, 14, 0), True),  # 22:00 local: start is inside
        ("Asia/Shanghai", utc(2025, 1, 15, 13, 59), False),  # 21:59 local
        ("Asia/Shanghai", utc(2025, 1, 15, 21, 59), True),  # 05:59 local
        ("Asia/Shanghai", utc(2025, 1, 15, 22, 0), False),  # 06:00 local: end is outside
        # Berlin: 04:30 UTC is 05:30 in winter (quiet), 06:30 in summer (not)
        ("Europe/Berlin", utc(2025, 1, 15, 4, 30), True),
        ("Europe/Berlin", utc(2025, 7, 15, 4, 30), False),
        # the night clocks go forward (30 March 2025, 02:00 → 03:00 local)
        ("Europe/Berlin", utc(2025, 3, 30, 0, 30), True),  # 01:30 CET
        ("Europe/Berlin", utc(2025, 3, 30, 1, 30), True),  # 03:30 CEST
        ("Europe/Berlin", utc(2025, 3, 30, 4, 30), False),  # 06:30 CEST
        ("Europe/Berlin", utc(2025, 10, 26, 4, 30), True),  # 05:30 CET, clocks went back
    ],
)
def test_quiet_hours_in_local_time(zone: str, when: datetime, quiet: bool) -> None:
    rule = QuietHoursRule("night-door", QuietHoursParams(zone, household="hh-12"))
    signals, _ = rule.evaluate(opened(when), RuleState(), when)
    assert [s.at for s in signals] == ([when] if quiet else [])
    if quiet:
        assert (signals[0].subject, signals[0].category) == ("hh-12", Category.CARE)


def test_window_within_one_day() -> None:
    params = QuietHoursParams("UTC", start=time(13, 0), end=time(14, 0))
    assert [params.is_quiet(utc(2025, 1, 1, h, 0).timestamp()) for h in (12, 13, 14)] == [
        False,
        True,
        False,
    ]


def test_one_opening_seen_twice_and_edges_across_batches() -> None:
    rule = QuietHoursRule("night-door", QuietHoursParams("UTC", household="hh-1"))
    night = utc(2025, 1, 15, 23, 0)

    def reading(t: datetime, v: float) -> Reading:
        return Reading(SITE, "front", "door_open", t, v)

    first = view_of(
        [reading(night, 1.0)], [Event(SITE, "front", night, "door_open")]
    )  # a sensor sending both
    signals, state = rule.evaluate(first, RuleState(), night)
    assert len(signals) == 1
    assert signals[0].summary == "Door front opened at 23:00 during quiet hours"
    state = rule.load_state(orjson.loads(orjson.dumps(state.to_json())))
    assert isinstance(state.get(f"{SITE}/front/door_open"), OpeningState)
    later = night.replace(minute=30)
    # still open at 23:30 (no edge), closed, opened again at 23:45 (an edge)
    second = view_of(
        [
            reading(later, 1.0),
            reading(later.replace(minute=40), 0.0),
            reading(later.replace(minute=45), 1.0),
        ]
    )
    signals, _ = rule.evaluate(second, state, later)
    assert [s.at for s in signals] == [later.replace(minute=45)]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "UTC", "start": time(1), "end": time(1)}, "end"),
        ({"timezone": "UTC", "min_interval_s": -1}, "min_interval_s"),
    ],
)
def test_invalid_quiet_hours(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        QuietHoursParams(**kwargs)  # type: ignore[arg-type]


def test_invalid_hold() -> None:
    with pytest.raises(ValidationError, match="hold_s"):
        DoorHeldParams(hold_s=0)
