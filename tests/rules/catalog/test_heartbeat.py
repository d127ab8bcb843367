from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import orjson
import pytest
from pydantic import ValidationError

from rules.arrays import BatchView, EventSeries, Series, view_of
from rules.catalog.heartbeat import (
    DeviceState,
    OfflineParams,
    OfflineRule,
    gap_bins,
    usual_interval_s,
)
from rules.directory import DeviceInfo, Directory
from rules.rule import Category, RuleState, Signal
from store.records import Event, StatusChange
from tests.rules.catalog.views import SITE, T0_S, at, trace
from tests.rules.sim_feed import batches, community, devices_only

KEY = f"{SITE}/dev1/offline"
#: Learned gaps of 60 s sit in the bin [2^(23/4), 2^(24/4)) = [53.8, 64) s.
TOP_60 = 64.0


def rule(directory: Directory | None = None, **params: object) -> OfflineRule:
    """The rule, trusting what it learned after minutes (the tables are short) unless told."""
    params = {"min_learned_s": 0.0, **params}
    return OfflineRule("offline", OfflineParams(**params), directory or Directory())  # type: ignore[arg-type]


def reports(offsets: Sequence[float], device: str = "dev1", value: float = 1.0) -> BatchView:
    """Readings at `offsets` seconds after T0 (any order; NaN values are gaps)."""
    values = [value] * len(offsets)
    s = Series.of(SITE, device, "level_pct", [T0_S + t for t in offsets], values)
    return BatchView(series={(SITE, device, "level_pct"): s})


def every(step: float, n: int, start: float = 0.0) -> list[float]:
    return [start + step * i for i in range(n)]


def status(offset: float, online: bool, device: str = "dev1") -> BatchView:
    return BatchView(statuses=(StatusChange(SITE, device, at(offset), online),))


def run(
    r: OfflineRule, *batches: tuple[BatchView, float], state: RuleState[DeviceState] | None = None
) -> tuple[list[Signal], RuleState[DeviceState]]:
    state = state if state is not None else RuleState()
    out: list[Signal] = []
    for view, now in batches:
        signals, state = r.evaluate(view, state, at(now))
        out += signals
    return out, state


def test_usual_interval_is_a_time_weighted_quantile() -> None:
    # 100 gaps of 60 s and 4 of 3000 s: counted per gap the typical gap is a minute, but 2/3 of
    # the time is spent in the long gaps, so the 0.95 quantile of time is the long bin's top.
    gaps = np.array([60.0] * 100 + [3000.0] * 4)
    hist = np.zeros(88)
    np.add.at(hist, gap_bins(gaps), gaps)
    assert usual_interval_s(tuple(hist), 0.95) == pytest.approx(2 ** (47 / 4))  # 3444 s
    assert usual_interval_s(tuple(hist), 0.25) == pytest.approx(TOP_60)
    assert math.isnan(usual_interval_s(tuple(np.zeros(88)), 0.5))
    assert gap_bins(np.array([0.2, 1.0, 1e12])).tolist() == [0, 0, 87]


@pytest.mark.parametrize(
    ("now", "want"),
    [
        # 60 s reports learned: 3 × 64 s = 192 s of silence allowed after the last one at 5940
        pytest.param(5940 + 191.9, [], id="just short of the timeout"),
        pytest.param(5940 + 192, [("firing", 5940 + 192)], id="at the timeout"),
        pytest.param(5940 + 9999, [("firing", 5940 + 192)], id="noticed late, fired on time"),
    ],
)
def test_silence_past_the_learned_interval(now: float, want: list[tuple[str, float]]) -> None:
    r = rule(floor_s=1.0)
    signals, _ = run(r, (reports(every(60, 100)), 5940), (BatchView(), now))
    assert trace(signals) == want


def test_floor_and_message() -> None:
    r = rule()
    signals, _ = run(r, (reports(every(60, 100)), 5940), (BatchView(), 9000))
    assert trace(signals) == [("firing", 5940 + 300)]
    s = signals[0]
    assert (s.subject, s.site, s.category, s.metric) == ("dev1", SITE, Category.MAINTENANCE, None)
    assert s.summary == "dev1 has sent nothing for 5.0 min (it usually reports within 1.1 min)"


def test_speaking_again_clears() -> None:
    r = rule(floor_s=1.0)
    signals, _ = run(
        r, (reports(every(60, 100)), 5940), (BatchView(), 7000), (reports([7200]), 7200)
    )
    assert trace(signals) == [("firing", 6132), ("clear", 7200)]
    assert signals[1].summary == "dev1 is reporting again"


def test_a_gap_inside_one_batch_fires_and_clears_and_is_not_learned() -> None:
    r = rule(floor_s=1.0)
    offsets = every(60, 100) + every(60, 100, start=20_000)
    signals, state = run(r, (reports(offsets), 26_000))
    assert trace(signals) == [("firing", 5940 + 192), ("clear", 20_000)]
    s = state.get(KEY)
    assert s is not None and usual_interval_s(s.hist, 0.95) == TOP_60  # the outage is not normal


def test_a_sleeping_sensor_is_not_flagged_at_night() -> None:
    """A PIR: motion bursts (60 s apart) by day, only its 3000 s heartbeat at night. Weighted
    by time its rhythm is the heartbeat's, so the night passes; three missed beats do not."""
    day = [d * 86_400.0 for d in range(3)]
    offsets: list[float] = []
    for start in day:
        offsets += every(3000.0, 28, start)  # heartbeats around the clock
        offsets += every(60.0, 300, start + 30_000.0)  # a busy morning
    offsets.sort()
    last = offsets[-1]
    r = rule()
    signals, state = run(r, (reports(offsets), last), (BatchView(), last + 9000))
    assert signals == []
    s = state.get(KEY)
    assert s is not None and s.due is not None
    assert 3 * 3000 <= s.due - (T0_S + last) <= 3 * 3000 * 1.2
    signals, _ = run(r, (BatchView(), last + 20_000), state=state)
    assert [x.at.timestamp() for x in signals] == [pytest.approx(s.due)]


@pytest.mark.parametrize(
    ("n", "now", "want"),
    [
        pytest.param(1, 48 * 3600 - 1, [], id="seen once: the unlearned timeout"),
        pytest.param(1, 48 * 3600, [("firing", 48 * 3600)], id="seen once, two days on"),
        pytest.param(4, 48 * 3600 + 179, [], id="four gaps are too few to trust"),
    ],
)
def test_a_device_seen_too_little_gets_the_unlearned_timeout(
    n: int, now: float, want: list[tuple[str, float]]
) -> None:
    signals, _ = run(rule(), (reports(every(60, n)), 0), (BatchView(), now))
    assert trace(signals) == want


def test_two_days_of_history_before_the_learned_interval_is_trusted() -> None:
    r = rule(min_learned_s=2 * 86_400.0)
    day = every(60.0, 1440)
    signals, _ = run(r, (reports(day), day[-1]), (BatchView(), day[-1] + 3600))
    assert signals == []  # a day learned: still the 48 h timeout
    two_days = every(60.0, 2 * 1440 + 1)
    signals, _ = run(r, (reports(two_days), two_days[-1]), (BatchView(), two_days[-1] + 3600))
    assert trace(signals) == [("firing", two_days[-1] + 300)]


def test_never_seen_and_status_only_devices_are_not_flagged_by_silence() -> None:
    r = rule()
    signals, state = run(r, (BatchView(), 10 * 86_400.0))
    assert signals == [] and len(state) == 0
    # A gateway known only by its retained `online`: judged by its status alone
    signals, state = run(r, (status(0, True), 0), (BatchView(), 30 * 86_400.0))
    assert signals == []
    s = state.get(KEY)
    assert s is not None and s.due is None


def test_last_will_fires_at_once_and_data_clears() -> None:
    r = rule()
    signals, _ = run(
        r,
        (reports(every(60, 100)), 5940),
        (status(6000, False), 6000),
        (BatchView(), 50_000),  # no silence alert on top of it
        (reports([60_000]), 60_000),
    )
    assert trace(signals) == [("firing", 6000), ("clear", 60_000)]
    assert signals[0].summary == "dev1 went offline"


def test_online_status_clears_and_late_statuses_are_skipped() -> None:
    r = rule()
    signals, state = run(
        r, (reports(every(60, 100)), 5940), (status(6000, False), 6000), (status(6100, True), 6100)
    )
    assert trace(signals) == [("firing", 6000), ("clear", 6100)]
    again, _ = run(r, (status(6050, False), 6200), state=state)
    assert again == []


def test_status_and_data_in_one_batch_in_time_order() -> None:
    r = rule()
    view = BatchView(
        series=reports(every(60, 100) + [9000.0]).series,
        statuses=(StatusChange(SITE, "dev1", at(6000), False),),
    )
    signals, _ = run(r, (view, 9000))
    assert trace(signals) == [("firing", 6000), ("clear", 9000)]


@pytest.mark.parametrize(
    ("timeouts", "want"),
    [
        pytest.param({"tank": 1000.0}, [("firing", 5940 + 1000)], id="a fixed timeout"),
        pytest.param({"tank": None}, [], id="never by silence"),
        pytest.param({"pump": 10.0}, [("firing", 5940 + 300)], id="another kind's"),
    ],
)
def test_kind_timeouts(timeouts: dict[str, float | None], want: list[tuple[str, float]]) -> None:
    d = Directory.of(devices=[DeviceInfo(SITE, "dev1", "tank")])
    r = rule(d, kind_timeouts_s=timeouts)
    signals, _ = run(r, (reports(every(60, 100)), 5940), (BatchView(), 20_000))
    assert trace(signals) == want


def test_events_count_and_nan_readings_do_not() -> None:
    r = rule(floor_s=1.0)
    events = [Event(SITE, "dev1", at(t), "door_open") for t in every(60, 100)]
    view = view_of([], events)
    signals, _ = run(r, (view, 5940), (BatchView(), 9000))
    assert trace(signals) == [("firing", 5940 + 192)]
    # NaN readings (gaps in a backtest's history) are not messages
    nan_tail = BatchView(
        series={
            (SITE, "dev1", "level_pct"): Series.of(
                SITE, "dev1", "level_pct", [T0_S + 6000, T0_S + 6060], [math.nan, math.nan]
            )
        },
        events={(SITE, "dev1", "door_open"): EventSeries.of(SITE, "dev1", "door_open", events)},
    )
    signals, _ = run(r, (nan_tail, 9000))
    assert trace(signals) == [("firing", 5940 + 192)]


def test_out_of_order_and_late_messages() -> None:
    r = rule(floor_s=1.0)
    offsets = every(60, 100)
    in_order = run(r, (reports(offsets), 5940))[1]
    assert run(r, (reports(list(reversed(offsets))), 5940))[1] == in_order
    # messages older than the newest seen change nothing
    assert run(r, (reports([100.5, 200.5]), 5940), state=in_order)[1] == in_order


def test_state_survives_json() -> None:
    r = rule(floor_s=1.0)
    _, state = run(r, (reports(every(60, 100)), 5940))
    state = r.load_state(orjson.loads(orjson.dumps(state.to_json())))
    signals, _ = run(r, (BatchView(), 7000), state=state)
    assert trace(signals) == [("firing", 6132)]


def test_many_devices_one_batch() -> None:
    r = rule(floor_s=1.0)
    view = BatchView(
        series={
            **reports(every(60, 100), device="a").series,
            **reports(every(30, 200), device="b").series,
        }
    )
    signals, _ = run(r, (view, 5970), (BatchView(), 7000))
    # b: 30 s gaps → bin top 32 s → 96 s; a: 192 s
    assert sorted((s.subject, (s.at - at(0)).total_seconds()) for s in signals) == [
        ("a", 5940 + 192),
        ("b", 5970 + 96),
    ]


@pytest.mark.parametrize(
    ("kwargs", "field_name"),
    [
        ({"factor": 0.5}, "factor"),
        ({"quantile": 0.0}, "quantile"),
        ({"floor_s": 0.0}, "floor_s"),
        ({"unlearned_timeout_s": -1.0}, "unlearned_timeout_s"),
        ({"kind_timeouts_s": {"pump": 0.0}}, "kind_timeouts_s.pump"),
        ({"memory_days": math.nan}, "memory_days"),
    ],
)
def test_invalid_params(kwargs: dict[str, object], field_name: str) -> None:
    with pytest.raises(ValidationError, match=field_name):
        OfflineParams(**kwargs)  # type: ignore[arg-type]


def test_the_dropout_of_the_incident_scenario() -> None:
    """The water meter drops off for 3 h (its retained status turns offline, then online);
    the tank and pump beside it, and their silences at the start, raise nothing."""
    scenario = devices_only(community("incident-dropout"), "b01-wmeter-01", "tank-01", "pump-01")
    (expected,) = scenario.expected_alerts
    r = OfflineRule("offline", OfflineParams(), Directory())
    state: RuleState[DeviceState] = RuleState()
    signals: list[Signal] = []
    for batch in batches(scenario):
        out, state = r.evaluate(batch.view, state, batch.end)
        signals += out
    assert [(s.subject, s.state.value) for s in signals] == [
        ("b01-wmeter-01", "firing"),
        ("b01-wmeter-01", "clear"),
    ]
    assert expected.not_before <= signals[0].at <= expected.deadline
