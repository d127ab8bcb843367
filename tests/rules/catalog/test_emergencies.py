from __future__ import annotations

import math

import orjson
import pytest
from pydantic import ValidationError

from rules.arrays import BatchView, EventSeries
from rules.catalog.emergencies import EmergencyParams, EmergencyRule, EmergencyState
from rules.rule import Category, RuleState, Severity
from store.records import Event
from tests.rules.catalog.views import SITE, at, events, merge, series, trace

RULE = EmergencyRule("emergency", EmergencyParams(dedup_window_s=120))


def run(*views: BatchView) -> list[tuple[str, float]]:
    state: RuleState[EmergencyState] = RuleState()
    out = []
    for view in views:
        signals, state = RULE.evaluate(view, state, at(1e6))
        out += trace(signals)
    return out


@pytest.mark.parametrize(
    ("offsets", "want"),
    [
        pytest.param([0], [("firing", 0)], id="one press"),
        pytest.param([0, 5, 60], [("firing", 0)], id="repeats within the window"),
        pytest.param([0, 119.9], [("firing", 0)], id="just inside the window"),
        pytest.param([0, 120], [("firing", 0), ("firing", 120)], id="exactly at the window"),
        pytest.param([60, 0], [("firing", 0)], id="out of order"),
    ],
)
def test_sos_presses(offsets: list[float], want: list[tuple[str, float]]) -> None:
    assert run(events("sos", offsets)) == want


def test_sos_then_zigbee_reset_raises_once() -> None:
    # The decoder turns {"action": "emergency"} into an sos event and drops {"action": ""};
    # a device that also reports a 0/1 `sos` reading gives an edge at the same instant.
    view = merge(events("sos", [0]), series("sos", [(0, 1), (1, 0)]))
    assert run(view) == [("firing", 0)]


def test_sos_never_clears_and_stays_active_across_batches() -> None:
    assert run(series("sos", [(0, 1), (10, 0)]), events("sos", [60])) == [("firing", 0)]


@pytest.mark.parametrize(
    ("kind", "samples", "want"),
    [
        ("smoke", [(0, 0), (10, 1), (20, 1), (30, 0)], [("firing", 10), ("clear", 30)]),
        ("smoke", [(0, 1), (10, math.nan), (20, 0)], [("firing", 0), ("clear", 20)]),
        ("water_leak", [(30, 0), (10, 1)], [("firing", 10), ("clear", 30)]),
        ("tamper", [(0, 0), (10, 0)], []),
        (
            "smoke",
            [(0, 1), (5, 0), (8, 1)],
            [("firing", 0), ("clear", 5), ("firing", 8)],
        ),
    ],
)
def test_readings_edges(
    kind: str, samples: list[tuple[float, float]], want: list[tuple[str, float]]
) -> None:
    assert run(series(kind, samples)) == want


def test_rising_edge_across_batches() -> None:
    assert run(series("smoke", [(0, 1)]), series("smoke", [(10, 1), (20, 0)])) == [
        ("firing", 0),
        ("clear", 20),
    ]


def test_event_and_reading_of_one_detection_raise_once() -> None:
    assert run(merge(events("smoke", [0]), series("smoke", [(1, 1), (50, 0)]))) == [
        ("firing", 0),
        ("clear", 50),
    ]


def test_alarm_false_event_clears() -> None:
    evs = [
        Event(SITE, "dev1", at(0), "smoke"),
        Event(SITE, "dev1", at(9), "smoke", attrs={"alarm": False}),
    ]
    view = BatchView(events={(SITE, "dev1", "smoke"): EventSeries.of(SITE, "dev1", "smoke", evs)})
    assert run(view) == [("firing", 0), ("clear", 9)]


@pytest.mark.parametrize(
    ("kind", "category"),
    [
        ("sos", Category.CARE),
        ("fall", Category.CARE),
        ("smoke", Category.MAINTENANCE),
        ("water_leak", Category.MAINTENANCE),
        ("tamper", Category.SECURITY),
    ],
)
def test_categories(kind: str, category: Category) -> None:
    (s,), _ = RULE.evaluate(events(kind, [0], device="d9"), RuleState(), at(0))
    assert (s.category, s.severity, s.subject, s.metric) == (
        category,
        Severity.CRITICAL,
        "d9",
        kind,
    )
    assert s.dedup_key == f"emergency:garden-court/d9:{kind}"
    assert "d9" in s.summary


def test_only_configured_kinds() -> None:
    rule = EmergencyRule("e", EmergencyParams(kinds=("tamper",)))
    signals, _ = rule.evaluate(events("sos", [0]), RuleState(), at(0))
    assert signals == []


def test_state_round_trip_keeps_the_dedup_window() -> None:
    _, state = RULE.evaluate(events("sos", [0]), RuleState(), at(0))
    state = RULE.load_state(orjson.loads(orjson.dumps(state.to_json())))
    signals, _ = RULE.evaluate(events("sos", [30]), state, at(30))
    assert signals == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kinds": ("sos", "flood")}, "kinds"),
        ({"kinds": ()}, "kinds"),
        ({"dedup_window_s": -1}, "dedup_window_s"),
    ],
)
def test_invalid(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        EmergencyParams(**kwargs)  # type: ignore[arg-type]
