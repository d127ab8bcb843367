from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from rules.arrays import (
    Series,
    epoch_s,
    falling_edges,
    rising_edges,
    view_of,
)
from store.records import Event, Reading

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


@pytest.mark.parametrize(
    ("ts", "values", "want_ts", "want_values"),
    [
        ([], [], [], []),
        ([3, 1, 2], [30, 10, 20], [1, 2, 3], [10, 20, 30]),
        ([1, 2, 3], [1, math.nan, 3], [1, 3], [1, 3]),
        ([1, 2], [math.inf, 2], [2], [2]),
        # the first received of two readings with one timestamp wins, as in the store
        ([2, 1, 2], [7, 1, 8], [1, 2], [1, 7]),
        ([1, 1, 1], [5, 6, 7], [1], [5]),
    ],
)
def test_series_is_sorted_unique_and_finite(
    ts: list[float], values: list[float], want_ts: list[float], want_values: list[float]
) -> None:
    s = Series.of("s", "d", "m", ts, values)
    assert s.ts.tolist() == want_ts
    assert s.values.tolist() == want_values
    assert s.ts.dtype == np.float64


def test_series_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="one length"):
        Series.of("s", "d", "m", [1, 2], [1])


@pytest.mark.parametrize(
    ("after", "want"), [(None, [1, 2, 3]), (0, [1, 2, 3]), (2, [3]), (2.5, [3]), (3, [])]
)
def test_after_is_strictly_later(after: float | None, want: list[float]) -> None:
    assert Series.of("s", "d", "m", [1, 2, 3], [0, 0, 0]).after(after).ts.tolist() == want


def test_view_groups_per_series_and_event_type() -> None:
    view = view_of(
        [
            Reading("s", "tank1", "level_pct", at(20), 50.0),
            Reading("s", "tank1", "level_pct", at(10), 60.0),
            Reading("s", "tank2", "level_pct", at(5), 70.0),
            Reading("s", "tank1", "battery_pct", at(5), 90.0),
        ],
        [
            Event("s", "door1", at(9), "door_open"),
            Event("s", "door1", at(3), "door_open"),
            Event("s", "door1", at(3), "door_open"),  # a duplicate collapses
            Event("s", "door1", at(4), "door_closed"),
        ],
    )
    levels = view.of_metric("level_pct")
    assert [(s.device, s.values.tolist()) for s in levels] == [
        ("tank1", [60.0, 50.0]),
        ("tank2", [70.0]),
    ]
    (opens,) = view.of_type("door_open")
    assert opens.ts.tolist() == [epoch_s(at(3)), epoch_s(at(9))]
    assert view.devices() == [("s", "door1"), ("s", "tank1"), ("s", "tank2")]
    assert levels[0].key == "s/tank1/level_pct"


def test_naive_datetime_is_utc() -> None:
    assert epoch_s(datetime(2025, 1, 1)) == epoch_s(T0)


@pytest.mark.parametrize(
    ("values", "previous", "rising", "falling"),
    [
        ([], None, [], []),
        ([1, 1, 0, 1], None, [1, 0, 0, 1], [0, 0, 1, 0]),
        ([1, 1, 0, 1], 1.0, [0, 0, 0, 1], [0, 0, 1, 0]),
        ([0, 0], None, [0, 0], [0, 0]),
        ([0, 1], 1.0, [0, 1], [1, 0]),
    ],
)
def test_edges(
    values: list[float], previous: float | None, rising: list[int], falling: list[int]
) -> None:
    v = np.asarray(values, dtype=np.float64)
    assert rising_edges(v, previous).astype(int).tolist() == rising
    assert falling_edges(v, previous).astype(int).tolist() == falling
