from __future__ import annotations

import math

import numpy as np
import orjson
import pytest
from pydantic import ValidationError

from rules.catalog.trends import (
    TrendParams,
    TrendRule,
    TrendState,
    _window_slopes,
    slope_per_h,
)
from rules.rule import RuleState
from tests.rules.catalog.views import at, series, trace

# a tank falling faster than 5 %/h over the last hour, with at least 4 samples over 30 min
DRAIN = TrendRule(
    "tank-draining",
    TrendParams("level_pct", "<", -5.0, window_s=3600, min_samples=4, clear_slope_per_h=-1.0),
)


def line(
    per_h: float, start: float = 0, stop: float = 3600, step: float = 600, base: float = 80
) -> list[tuple[float, float]]:
    return [(t, base + per_h * t / 3600) for t in np.arange(start, stop + 1, step).tolist()]


def run(*batches: list[tuple[float, float]]) -> list[tuple[str, float]]:
    state: RuleState[TrendState] = RuleState()
    out = []
    for samples in batches:
        signals, state = DRAIN.evaluate(series("level_pct", samples), state, at(1e6))
        out += trace(signals)
    return out


@pytest.mark.parametrize(
    ("samples", "want"),
    [
        # Judged at every sample: the window first holds enough at 1800 s (4 samples, half of it).
        pytest.param(line(-10), [("firing", 1800)], id="falling 10 %/h"),
        pytest.param(line(-5), [], id="exactly at the limit"),
        pytest.param(line(-4), [], id="slower"),
        pytest.param(line(+10), [], id="filling"),
        pytest.param(line(-10, stop=1200), [], id="too few samples"),
        pytest.param(line(-10, stop=1500, step=300), [], id="enough samples, too short a span"),
        pytest.param(line(-10, stop=1800, step=300), [("firing", 1800)], id="half the window"),
        pytest.param(list(reversed(line(-10))), [("firing", 1800)], id="out of order"),
        pytest.param(
            [(t, math.nan if 0 < t < 3600 else v) for t, v in line(-10)], [], id="NaN gaps"
        ),
    ],
)
def test_draining(samples: list[tuple[float, float]], want: list[tuple[str, float]]) -> None:
    assert run(samples) == want


def test_window_accumulates_across_batches_and_clears_with_hysteresis() -> None:
    falling = line(-10)
    assert run(falling[:3], falling[3:]) == [("firing", 1800)]
    # then flat: the slope over the last hour climbs back through -5 (still firing) to >= -1
    flat = [(3600.0 + t, falling[-1][1]) for t in range(600, 7201, 600)]
    out = run(falling, *[[s] for s in flat])
    assert out[0] == ("firing", 1800)
    assert out[1][0] == "clear" and out[1][1] > 3600 + 1800
    # The same samples in one batch (a replay, a backtest chunk) change at the same samples.
    assert run(falling + flat) == out


def test_running_sums_agree_with_the_exact_fit_of_each_window() -> None:
    rng = np.random.default_rng(3)
    ts = np.cumsum(rng.uniform(20, 90, 400)) + 1.7e9  # epoch seconds, uneven spacing
    values = 50 - (ts - ts[0]) / 3600 * 7 + rng.normal(0, 0.5, ts.size)
    values[[50, 51, 300]] = np.nan
    ends = np.arange(ts.size)
    starts = np.searchsorted(ts, ts - 1800, side="right")
    fast, count = _window_slopes(ts, values, starts, ends)
    for k in range(5, ts.size, 7):
        exact = slope_per_h(ts[starts[k] : k + 1], values[starts[k] : k + 1])
        assert count[k] == k + 1 - starts[k]
        if math.isnan(exact):  # a NaN in the window
            assert math.isnan(fast[k])
        else:
            assert abs(fast[k] - exact) < 1e-6  # well inside the margin of the exact check


def test_state_is_bounded_and_round_trips() -> None:
    rule = TrendRule("t", TrendParams("level_pct", "<", -5.0, window_s=3600, max_samples=16))
    _, state = rule.evaluate(series("level_pct", line(-10, stop=7200, step=10)), RuleState(), at(0))
    (s,) = state.by_key.values()
    assert len(s.ts) <= 16 and s.ts[-1] - s.ts[0] >= 3500
    assert rule.load_state(orjson.loads(orjson.dumps(state.to_json()))) == state


def test_slope_matches_polyfit() -> None:
    rng = np.random.default_rng(7)
    ts = np.sort(rng.uniform(1.7e9, 1.7e9 + 3600, 50))
    values = 50 - 3 * (ts - ts[0]) / 3600 + rng.normal(0, 0.2, 50)
    expected = np.polyfit(ts - ts[0], values, 1)[0] * 3600
    assert slope_per_h(ts, values) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"op": "<", "slope_per_h": -5, "window_s": 0}, "window_s"),
        ({"op": "<", "slope_per_h": -5, "window_s": 60, "clear_slope_per_h": -6}, "clear_slope"),
        ({"op": "<", "slope_per_h": -5, "window_s": 60, "min_samples": 1}, "min_samples"),
        ({"op": "<", "slope_per_h": -5, "window_s": 60, "min_coverage": 2}, "min_coverage"),
    ],
)
def test_invalid(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        TrendParams("level_pct", **kwargs)  # type: ignore[arg-type]
