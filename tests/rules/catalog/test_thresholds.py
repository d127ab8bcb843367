from __future__ import annotations

import math

import orjson
import pytest
from pydantic import ValidationError

from rules.catalog.hold import HoldState
from rules.catalog.thresholds import ThresholdParams, ThresholdRule
from rules.kind import problems
from rules.rule import Category, RuleState, Severity
from tests.rules.catalog.views import T0_S, at, series, trace

NAN = math.nan
HIGH = ThresholdParams("pressure_bar", ">", 6.0, clear_value=5.0, hold_s=300)


def run(params: ThresholdParams, *batches: list[tuple[float, float]]) -> list[tuple[str, float]]:
    rule = ThresholdRule("high-pressure", params)
    state: RuleState[HoldState] = RuleState()
    out = []
    for samples in batches:
        signals, state = rule.evaluate(series(params.metric, samples), state, at(1e6))
        out += trace(signals)
    return out


@pytest.mark.parametrize(
    ("samples", "want"),
    [
        pytest.param([(0, 6.0), (300, 6.0), (600, 6.0)], [], id="exactly at value never breaches"),
        pytest.param([(0, 6.1), (300, 6.1)], [("firing", 300)], id="exactly at hold fires"),
        pytest.param([(0, 6.1), (299, 6.1)], [], id="one second short of the hold"),
        pytest.param([(0, 7), (100, 7), (200, 4), (300, 7)], [], id="spike shorter than hold"),
        pytest.param(
            [(0, 7), (100, NAN), (200, NAN), (300, 7)], [("firing", 300)], id="NaN gap keeps hold"
        ),
        pytest.param([(0, NAN), (300, NAN)], [], id="only NaN"),
        pytest.param(
            [(300, 7), (0, 7), (150, 7)], [("firing", 300)], id="out of order within a batch"
        ),
        pytest.param(
            [(0, 7), (300, 7), (400, 5.5), (500, 5.0)],
            [("firing", 300), ("clear", 500)],
            id="clears at clear_value, not in the band",
        ),
        pytest.param(
            [(0, 7), (300, 7), (400, 5.5), (500, 6.5), (600, 5.5), (700, 6.5)],
            [("firing", 300)],
            id="flapping inside the band stays firing",
        ),
        pytest.param(
            [(0, 7), (200, 5.5), (300, 7), (600, 7)],
            [("firing", 600)],
            id="a band sample resets a pending hold",
        ),
        pytest.param(
            [(0, 7), (300, 7), (400, 4), (500, 7), (800, 7)],
            [("firing", 300), ("clear", 400), ("firing", 800)],
            id="fires again after a clear, with a new hold",
        ),
    ],
)
def test_above_with_hold_and_hysteresis(
    samples: list[tuple[float, float]], want: list[tuple[str, float]]
) -> None:
    assert run(HIGH, samples) == want


@pytest.mark.parametrize(
    ("samples", "want"),
    [
        ([(0, 20.0)], []),
        ([(0, 19.9)], [("firing", 0)]),
        ([(0, 19.9), (10, 20.0), (20, 24.9), (30, 25.0)], [("firing", 0), ("clear", 30)]),
    ],
)
def test_below_without_hold(
    samples: list[tuple[float, float]], want: list[tuple[str, float]]
) -> None:
    assert run(ThresholdParams("level_pct", "<", 20.0, clear_value=25.0), samples) == want


def test_hold_started_in_one_batch_completes_in_the_next() -> None:
    assert run(HIGH, [(0, 7), (100, 7)], [(200, 7), (300, 7)]) == [("firing", 300)]


def test_late_samples_of_a_later_batch_are_skipped() -> None:
    # (50, 4) arrives after 100 was evaluated: it cannot reset the hold retroactively
    assert run(HIGH, [(0, 7), (100, 7)], [(50, 4), (300, 7)]) == [("firing", 300)]


def test_clear_hold() -> None:
    params = ThresholdParams("t", ">", 6.0, clear_value=5.0, clear_hold_s=60)
    assert run(params, [(0, 7), (10, 4), (60, 4), (70, 4), (80, 5.5), (90, 4), (150, 4)]) == [
        ("firing", 0),
        ("clear", 70),
    ]


def test_signal_fields() -> None:
    rule = ThresholdRule("high-pressure", HIGH)
    signals, state = rule.evaluate(
        series("pressure_bar", [(0, 7), (300, 6.5)], device="pump1"), RuleState(), at(300)
    )
    (s,) = signals
    assert (s.rule, s.subject, s.site, s.metric, s.value) == (
        "high-pressure",
        "pump1",
        "garden-court",
        "pressure_bar",
        6.5,
    )
    assert (s.category, s.severity) == (Category.MAINTENANCE, Severity.WARNING)
    assert s.dedup_key == "high-pressure:garden-court/pump1:pressure_bar"
    assert s.summary == "pressure_bar on pump1 is above 6.0 (6.5)"
    assert s.at == at(300)
    assert state.get("garden-court/pump1/pressure_bar") == HoldState(
        firing=True, last_ts=T0_S + 300
    )


def test_state_json_round_trip() -> None:
    rule = ThresholdRule("high-pressure", HIGH)
    _, state = rule.evaluate(series("pressure_bar", [(0, 7), (100, 7)]), RuleState(), at(100))
    loaded = rule.load_state(orjson.loads(orjson.dumps(state.to_json())))
    assert loaded == state
    signals, _ = rule.evaluate(series("pressure_bar", [(300, 7)]), loaded, at(300))
    assert trace(signals) == [("firing", 300)]
    assert not state.changed_since(loaded)


def test_malformed_state_names_the_key_and_field() -> None:
    rule = ThresholdRule("r", HIGH)
    with pytest.raises(ValueError, match=r"'a/b/c'.*pending_since"):
        rule.load_state({"a/b/c": {"firing": False, "pending_since": "soon"}})


@pytest.mark.parametrize(
    ("kwargs", "fields"),
    [
        ({"op": ">=", "value": 1.0}, ["op"]),
        ({"op": ">", "value": NAN}, ["value"]),
        ({"op": ">", "value": 5.0, "clear_value": 6.0}, ["clear_value"]),
        ({"op": "<", "value": 5.0, "clear_value": 4.0}, ["clear_value"]),
        (
            {"op": ">", "value": 5.0, "hold_s": -1.0, "clear_hold_s": math.inf},
            ["hold_s", "clear_hold_s"],
        ),
    ],
)
def test_invalid_params_name_every_field(kwargs: dict[str, object], fields: list[str]) -> None:
    with pytest.raises(ValidationError) as info:
        ThresholdParams("m", **kwargs)  # type: ignore[arg-type]
    assert [f for f, _ in problems(info.value)] == fields
