from __future__ import annotations

import math

import orjson
import pytest
from pydantic import ValidationError

from rules.arrays import BatchView
from rules.catalog.usage import UsageParams, UsageRule, UsageState
from rules.rule import RuleState
from tests.rules.catalog.views import at, events, series, trace

DENIED = UsageRule("denied-burst", UsageParams("event", "access_denied", count=3, window_s=60))
STARTS = UsageRule("pump-starts", UsageParams("edge", "running", count=3, window_s=3600))


def run(rule: UsageRule, *batches: tuple[BatchView, float]) -> list[tuple[str, float]]:
    state: RuleState[UsageState] = RuleState()
    out = []
    for view, now in batches:
        signals, state = rule.evaluate(view, state, at(now))
        out += trace(signals)
    return out


@pytest.mark.parametrize(
    ("offsets", "now", "want"),
    [
        pytest.param([0, 10], 20, [], id="two of three"),
        pytest.param([0, 10, 20], 20, [("firing", 20)], id="three in the window"),
        pytest.param([0, 30, 60], 60, [], id="exactly window_s apart is not within"),
        pytest.param([0, 30, 59.9], 59.9, [("firing", 59.9)], id="just inside"),
        pytest.param([20, 0, 10], 20, [("firing", 20)], id="out of order"),
        pytest.param([0, 10, 20], 70, [("firing", 20), ("clear", 60)], id="clears at now"),
        pytest.param(
            [0, 10, 20, 30, 40], 79, [("firing", 20)], id="still bursting keeps it firing"
        ),
        pytest.param(
            [0, 10, 20, 30, 40], 100, [("firing", 20), ("clear", 80)], id="slides past the burst"
        ),
        pytest.param(
            [0, 10, 20, 100, 110, 120],
            200,
            [("firing", 20), ("clear", 60), ("firing", 120), ("clear", 160)],
            id="two bursts",
        ),
    ],
)
def test_event_bursts(offsets: list[float], now: float, want: list[tuple[str, float]]) -> None:
    assert run(DENIED, (events("access_denied", offsets), now)) == want


def test_window_slides_across_batches_and_timer_ticks() -> None:
    assert run(
        DENIED,
        (events("access_denied", [0, 10]), 10),
        (events("access_denied", [50]), 50),
        (BatchView(), 65),
        (BatchView(), 80),
    ) == [("firing", 50), ("clear", 60)]


def test_late_event_does_not_count() -> None:
    out = run(DENIED, (events("access_denied", [0, 30]), 30), (events("access_denied", [10]), 35))
    assert out == []


@pytest.mark.parametrize(
    ("samples", "want"),
    [
        pytest.param(
            [(0, 1), (60, 0), (120, 1), (180, 0), (240, 1)], [("firing", 240)], id="three starts"
        ),
        pytest.param([(0, 1), (60, 1), (120, 1), (180, 1)], [], id="running is one start"),
        pytest.param(
            [(0, 1), (30, math.nan), (60, 0), (120, 1), (180, 0), (240, 1)],
            [("firing", 240)],
            id="NaN gap",
        ),
        pytest.param(
            [(0, 1), (60, 0), (120, 1), (180, 0), (3600, 1)], [], id="third start an hour later"
        ),
    ],
)
def test_pump_starts_from_running_edges(
    samples: list[tuple[float, float]], want: list[tuple[str, float]]
) -> None:
    assert run(STARTS, (series("running", samples), 3599)) == want


def test_edge_across_batches_and_state_round_trip() -> None:
    _, state = STARTS.evaluate(series("running", [(0, 1), (60, 0), (120, 1)]), RuleState(), at(120))
    state = STARTS.load_state(orjson.loads(orjson.dumps(state.to_json())))
    assert state.get("garden-court/dev1/running") == UsageState(
        recent=(at(0).timestamp(), at(120).timestamp()),
        last_value=1.0,
        last_ts=at(120).timestamp(),
    )
    # still running at 150 is not a start; 200 → 0, 240 → 1 is the third
    signals, _ = STARTS.evaluate(series("running", [(150, 1), (200, 0), (240, 1)]), state, at(240))
    (s,) = signals
    assert trace(signals) == [("firing", 240)]
    assert s.summary == "3 × running on dev1 within 60.0 min"
    assert s.dedup_key == "pump-starts:garden-court/dev1:running"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"source": "log", "name": "x", "count": 1, "window_s": 1}, "source"),
        ({"source": "event", "name": "", "count": 1, "window_s": 1}, "name"),
        ({"source": "event", "name": "x", "count": 0, "window_s": 1}, "count"),
        ({"source": "event", "name": "x", "count": 2, "window_s": 0}, "window_s"),
    ],
)
def test_invalid(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        UsageParams(**kwargs)  # type: ignore[arg-type]
