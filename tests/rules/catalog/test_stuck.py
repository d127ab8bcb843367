from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import orjson
import pytest
from pydantic import ValidationError

from rules.arrays import BatchView, FloatArray, Series
from rules.catalog.stuck import StuckParams, StuckRule, StuckState
from rules.rule import Category, RuleState, Signal, SignalState
from tests.rules.catalog.views import SITE, T0_S, at, trace
from tests.rules.sim_feed import batches, community, devices_only

DAY = 86_400.0
MINUTE = 60.0


def noisy(
    start: float, end: float, seed: int = 1, step: float = MINUTE
) -> list[tuple[float, float]]:
    """A tank level read every minute: it wanders, and the sensor's noise changes every read."""
    rng = np.random.default_rng(seed)
    ts = np.arange(start, end, step)
    values = 60.0 + 10.0 * np.sin(ts / 20_000.0) + rng.normal(0.0, 0.3, ts.size)
    return list(zip(ts.tolist(), np.round(values, 2).tolist(), strict=True))


def frozen(
    start: float, end: float, value: float, step: float = MINUTE
) -> list[tuple[float, float]]:
    return [(t, value) for t in np.arange(start, end, step).tolist()]


def series(
    samples: list[tuple[float, float]], metric: str = "level_pct", device: str = "tank-01"
) -> BatchView:
    s = Series.of(SITE, device, metric, [T0_S + t for t, _ in samples], [v for _, v in samples])
    return BatchView(series={(SITE, device, metric): s})


def run(
    rule: StuckRule, *views: BatchView, state: RuleState[StuckState] | None = None
) -> tuple[list[Signal], RuleState[StuckState]]:
    state = state if state is not None else RuleState()
    out: list[Signal] = []
    for view in views:
        signals, state = rule.evaluate(view, state, at(0))
        out += signals
    return out, state


RULE = StuckRule("stuck", StuckParams())
#: A day of a varying level, then the sensor freezes at 61.5 for six hours, then recovers.
FREEZE = DAY + 600.0
INCIDENT = (
    noisy(0, FREEZE)
    + frozen(FREEZE, FREEZE + 6 * 3600, 61.5)
    + noisy(FREEZE + 6 * 3600, 2 * DAY, seed=2)
)


def test_a_frozen_level_fires_after_hold_and_clears_when_it_moves() -> None:
    signals, _ = run(RULE, series(INCIDENT))
    assert trace(signals) == [("firing", FREEZE + 3600), ("clear", FREEZE + 6 * 3600)]
    s = signals[0]
    assert (s.subject, s.metric, s.value, s.category) == (
        "tank-01",
        "level_pct",
        61.5,
        Category.MAINTENANCE,
    )
    assert s.summary == "level_pct on tank-01 has not changed for 60.0 min (stuck at 61.5)"
    assert signals[1].summary.startswith("level_pct on tank-01 is changing again (")


@pytest.mark.parametrize(
    ("freeze_min", "want"),
    [
        pytest.param(59, [], id="59 min flat"),
        pytest.param(60, [("firing", FREEZE + 3600)], id="60 min flat: the hold is inclusive"),
    ],
)
def test_hold_boundary(freeze_min: int, want: list[tuple[str, float]]) -> None:
    # samples every minute: a run of n + 1 equal samples lasts n minutes
    samples = noisy(0, FREEZE) + frozen(FREEZE, FREEZE + freeze_min * 60 + 1, 61.5)
    signals, _ = run(RULE, series(samples))
    assert trace(signals) == want


def test_nothing_fires_before_a_day_of_history() -> None:
    samples = noisy(0, 6 * 3600) + frozen(6 * 3600, 12 * 3600, 61.5)
    assert run(RULE, series(samples))[0] == []


@pytest.mark.parametrize(
    ("values", "metric"),
    [
        # a street lamp: ~120 W with mains noise at night, 0.5 W standby all day
        pytest.param(
            lambda t, rng: np.where((t % DAY) < 10 * 3600, 120 + rng.normal(0, 2, t.size), 0.5),
            "power_w",
            id="a lamp flat all day",
        ),
        # a battery: one percent every few days
        pytest.param(lambda t, rng: np.floor(90 - t / (3 * DAY)), "battery_pct", id="a battery"),
        # a pump's running flag: on for hours at a time
        pytest.param(lambda t, rng: ((t // 7200) % 2).astype(float), "running", id="a switch"),
    ],
)
def test_series_that_sit_still_by_nature_never_fire(
    values: Callable[[FloatArray, np.random.Generator], FloatArray], metric: str
) -> None:
    rng = np.random.default_rng(3)
    t = np.arange(0, 7 * DAY, 5 * MINUTE)
    v: FloatArray = np.round(values(t, rng), 1)
    samples = list(zip(t.tolist(), v.tolist(), strict=True))
    signals, _ = run(RULE, series(samples, metric=metric))
    assert signals == []


def test_epsilon_tolerates_jitter_but_not_a_drift() -> None:
    rule = StuckRule("stuck", StuckParams(epsilon=0.05))
    rng = np.random.default_rng(4)
    jitter = [
        (t, 61.5 + float(rng.choice([0.0, 0.01]))) for t, _ in frozen(FREEZE, FREEZE + 2 * 3600, 0)
    ]
    signals, _ = run(rule, series(noisy(0, FREEZE) + jitter))
    assert trace(signals) == [("firing", FREEZE + 3600)]
    # 0.01 per minute: each step is within epsilon, the run's range soon is not
    drift = [(t, 61.5 + 0.01 * i) for i, (t, _) in enumerate(frozen(FREEZE, FREEZE + 2 * 3600, 0))]
    assert run(rule, series(noisy(0, FREEZE) + drift))[0] == []


def test_a_few_equal_samples_hours_apart_are_not_a_run() -> None:
    # an event-driven sensor: two equal reports two hours apart say little
    samples = noisy(0, FREEZE) + [(FREEZE + 3600.0 * k, 61.5) for k in range(4)]
    assert run(RULE, series(samples))[0] == []


def test_nan_gaps_neither_break_nor_complete_a_run() -> None:
    stuck = frozen(FREEZE, FREEZE + 2 * 3600, 61.5)
    with_gaps = [(t, math.nan if 600 <= t - FREEZE < 1800 else v) for t, v in stuck]
    signals, _ = run(RULE, series(noisy(0, FREEZE) + with_gaps))
    assert trace(signals) == [("firing", FREEZE + 3600)]


def test_out_of_order_equals_in_order() -> None:
    signals, state = run(RULE, series(INCIDENT))
    shuffled = list(INCIDENT)
    np.random.default_rng(5).shuffle(shuffled)
    assert run(RULE, series(shuffled)) == (signals, state)


@pytest.mark.parametrize("batch_s", [60.0, 300.0, 3600.0, 4 * 3600.0])
def test_batches_and_restarts_change_nothing(batch_s: float) -> None:
    whole, _ = run(RULE, series(INCIDENT))
    state: RuleState[StuckState] = RuleState()
    pieces: list[Signal] = []
    for start in np.arange(0.0, 2 * DAY, batch_s).tolist():
        chunk = [(t, v) for t, v in INCIDENT if start <= t < start + batch_s]
        if not chunk:
            continue
        signals, state = run(RULE, series(chunk), state=state)
        pieces += signals
        state = RULE.load_state(orjson.loads(orjson.dumps(state.to_json())))
    assert pieces == whole


def test_late_samples_are_skipped() -> None:
    _, state = run(RULE, series(INCIDENT[:2000]))
    again, after = run(RULE, series(INCIDENT[10:20]), state=state)
    assert again == [] and after == state


def test_metrics_filter_and_one_state_per_series() -> None:
    rule = StuckRule("stuck", StuckParams(metrics=("level_pct",)))
    view = BatchView(
        series={
            **series(INCIDENT).series,
            **series(INCIDENT, metric="pressure_bar", device="pump-01").series,
        }
    )
    signals, state = run(rule, view)
    assert {s.metric for s in signals} == {"level_pct"}
    assert list(state) == [f"{SITE}/tank-01/level_pct"]
    both, state = run(RULE, view)
    assert sorted((s.subject, s.state) for s in both) == [
        ("pump-01", SignalState.CLEAR),
        ("pump-01", SignalState.FIRING),
        ("tank-01", SignalState.CLEAR),
        ("tank-01", SignalState.FIRING),
    ]


def test_a_run_that_fired_is_not_learned_as_normal_flatness() -> None:
    _, state = run(RULE, series(INCIDENT))
    s = state.get(f"{SITE}/tank-01/level_pct")
    assert s is not None and s.flat_s == 0.0 and not s.firing
    # so a second freeze the next day fires again after the hold
    again = frozen(2 * DAY, 2 * DAY + 2 * 3600, 58.0)
    signals, _ = run(RULE, series(again), state=state)
    assert trace(signals) == [("firing", 2 * DAY + 3600)]


@pytest.mark.parametrize(
    ("kwargs", "field_name"),
    [
        ({"hold_s": 0.0}, "hold_s"),
        ({"min_samples": 1}, "min_samples"),
        ({"epsilon": -0.1}, "epsilon"),
        ({"max_flat_share": 1.0}, "max_flat_share"),
        ({"metrics": ("",)}, "metrics"),
        ({"min_changes_per_h": math.nan}, "min_changes_per_h"),
    ],
)
def test_invalid_params(kwargs: dict[str, object], field_name: str) -> None:
    with pytest.raises(ValidationError, match=field_name):
        StuckParams(**kwargs)  # type: ignore[arg-type]


def test_the_stuck_level_of_the_incident_scenario() -> None:
    scenario = devices_only(community("incident-stuck-value"), "tank-01", "pump-01")
    (expected,) = scenario.expected_alerts
    signals, _ = run(RULE, *(batch.view for batch in batches(scenario)))
    firing = [s for s in signals if s.state is SignalState.FIRING]
    assert [(s.subject, s.metric) for s in firing] == [("tank-01", "level_pct")]
    assert expected.not_before < firing[0].at <= expected.deadline
