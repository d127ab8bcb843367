from __future__ import annotations

import math

import orjson
import pytest
from pydantic import ValidationError

from rules.catalog.battery import BatteryParams, BatteryRule
from rules.catalog.hold import HoldState
from rules.rule import Category, RuleState
from tests.rules.catalog.views import at, series, trace

RULE = BatteryRule("battery-low", BatteryParams(low_pct=15, clear_pct=30, hold_s=600))


@pytest.mark.parametrize(
    ("samples", "want"),
    [
        pytest.param([(0, 15), (600, 15)], [], id="exactly at low_pct is not low"),
        pytest.param([(0, 14), (600, 14)], [("firing", 600)], id="below, held"),
        pytest.param([(0, 14), (300, 16), (600, 14)], [], id="one dip under load"),
        pytest.param(
            [(0, 14), (600, 14), (700, 20), (800, 14), (900, 29.9)],
            [("firing", 600)],
            id="creeping back inside the band stays low",
        ),
        pytest.param(
            [(0, 14), (600, 14), (700, 100)], [("firing", 600), ("clear", 700)], id="replaced"
        ),
        pytest.param(
            [(600, 14), (0, 14), (300, math.nan)], [("firing", 600)], id="out of order, NaN"
        ),
    ],
)
def test_battery_low(samples: list[tuple[float, float]], want: list[tuple[str, float]]) -> None:
    signals, _ = RULE.evaluate(series("battery_pct", samples), RuleState(), at(1e6))
    assert trace(signals) == want
    assert all(s.category is Category.MAINTENANCE for s in signals)


def test_wording_and_state_across_batches() -> None:
    _, state = RULE.evaluate(series("battery_pct", [(0, 10)], device="lock7"), RuleState(), at(0))
    state = RULE.load_state(orjson.loads(orjson.dumps(state.to_json())))
    assert isinstance(state.get("garden-court/lock7/battery_pct"), HoldState)
    (s,), _ = RULE.evaluate(series("battery_pct", [(600, 9)], device="lock7"), state, at(600))
    assert s.summary == "Battery of lock7 is low (9.0 %)"
    assert s.dedup_key == "battery-low:garden-court/lock7:battery_pct"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"low_pct": 0}, "low_pct"), ({"clear_pct": 10}, "clear_pct"), ({"hold_s": -1}, "hold_s")],
)
def test_invalid(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        BatteryParams(**kwargs)  # type: ignore[arg-type]
