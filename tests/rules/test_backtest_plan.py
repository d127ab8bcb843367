"""rules.backtest.plan on hand-made rollups: which hours a threshold reads, which series the
anomaly screen reads, and runs of hours as time ranges."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rules.backtest.plan import HOUR_S, anomaly_suspects, hour_grid, ranges_of, threshold_hours
from rules.catalog.anomaly import AnomalyParams
from rules.catalog.thresholds import ThresholdParams
from store.readings.hourly_rollup import HourlyRollup

H0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC
HOT = ThresholdParams("t", ">", 33.0, clear_value=30.0, hold_s=300)
#: Hour classes for a ">" rule at 33 clearing at 30: max of the hour, and None for no row.
MAX_OF = {"q": 25.0, "b": 31.0, "h": 40.0, "k": 29.0, "n": math.nan, "-": None}


def rollup(rows: dict[int, list[tuple[float, float] | None]], counts: int = 60) -> HourlyRollup:
    """Rows per series id: (min, max) per hour from H0, None for no rollup row."""
    sids, hours, mins, maxs = [], [], [], []
    for sid, cells in rows.items():
        for j, cell in enumerate(cells):
            if cell is not None:
                sids.append(sid)
                hours.append(H0 + j * HOUR_S)
                mins.append(cell[0])
                maxs.append(cell[1])
    n = len(sids)
    lo, hi = np.array(mins, dtype=np.float64), np.array(maxs, dtype=np.float64)
    return HourlyRollup(
        np.array(sids, dtype=np.int32),
        np.array(hours, dtype=np.float64),
        np.full(n, counts, dtype=np.int64),
        lo,
        hi,
        (lo + hi) / 2,
    )


def classes(text: str) -> list[tuple[float, float] | None]:
    out: list[tuple[float, float] | None] = []
    for c in text:
        top = MAX_OF[c]
        out.append(None if top is None else (top - 2.0, top))
    return out


def needed(
    params: ThresholdParams, text: str, lagging: tuple[tuple[float, float], ...] = ()
) -> str:
    grid = hour_grid(rollup({1: classes(text)}), [1], H0, H0 + len(text) * HOUR_S, lagging)
    return "".join("R" if x else "." for x in threshold_hours(params, grid)[0])


@pytest.mark.parametrize(
    ("params", "hours", "want"),
    [
        pytest.param(HOT, "qqqqq", ".....", id="never near the limit: nothing read"),
        pytest.param(HOT, "qqhqq", "..RR.", id="hot hour and the calm one after it"),
        pytest.param(HOT, "qhhkq", ".RRR.", id="a breach held across an hour border"),
        pytest.param(HOT, "qhbbkq", ".RRRR.", id="hysteresis band keeps it unsettled"),
        pytest.param(HOT, "qhbqkq", ".RRR..", id="the first calm hour after the band settles"),
        pytest.param(HOT, "qh-kq", ".RRR.", id="a gap is read and proves nothing"),
        pytest.param(HOT, "q-qq", ".RR.", id="no rollup row: read raw, then settle"),
        pytest.param(HOT, "qnqq", ".RR.", id="NaN in the hour: read raw"),
        pytest.param(HOT, "hq", "RR", id="hot at the window's start"),
        pytest.param(HOT, "qqh", "..R", id="hot at the window's end"),
        pytest.param(
            ThresholdParams("t", ">", 33.0, clear_value=30.0, clear_hold_s=600),
            "qhqqqqq",
            ".RRRR..",
            id="a clear hold needs a run of calm hours",
        ),
        pytest.param(
            ThresholdParams("t", ">", 33.0, clear_value=30.0, clear_hold_s=600),
            "qhqbqqqq",
            ".RRRRRR.",
            id="a band hour restarts the calm run",
        ),
        pytest.param(
            ThresholdParams("t", ">", 33.0, clear_value=30.0, only_when="on"),
            "qqhqq",
            "RRRRR",
            id="only_when: the whole series",
        ),
        pytest.param(
            ThresholdParams("t", ">", 33.0, clear_value=30.0, only_when="on"),
            "qbqq",
            "....",
            id="only_when without a breach: nothing",
        ),
    ],
)
def test_threshold_reads_the_hours_that_can_move_the_hold(
    params: ThresholdParams, hours: str, want: str
) -> None:
    assert needed(params, hours) == want


def test_below_reads_by_the_hours_minimum() -> None:
    low = ThresholdParams("t", "<", 2.0, clear_value=2.8)
    cells: list[tuple[float, float] | None] = [(3.0, 4.0), (1.0, 4.0), (2.5, 4.0), (2.9, 9.0)]
    cells += [(3.0, 4.0)]
    grid = hour_grid(rollup({1: cells}), [1], H0, H0 + 5 * HOUR_S)
    assert threshold_hours(low, grid)[0].tolist() == [False, True, True, True, False]


def test_lagging_hours_are_read() -> None:
    lag = ((H0 + 2 * HOUR_S + 10, H0 + 2 * HOUR_S + 20),)
    assert needed(HOT, "qqqqq", lag) == "..RR."


def test_runs_of_hours_become_ranges_clipped_to_the_window() -> None:
    grid = hour_grid(
        rollup({1: classes("qhkqh"), 2: classes("hhhhh")}), [1, 2], H0 + 900, H0 + 4.5 * HOUR_S
    )
    sids, lo, hi = ranges_of(threshold_hours(HOT, grid), grid, H0 + 900, H0 + 4.5 * HOUR_S)
    assert sids.tolist() == [1, 1, 2]
    assert (lo - H0).tolist() == [HOUR_S, 4 * HOUR_S, 900]
    assert (hi - H0).tolist() == [3 * HOUR_S, 4.5 * HOUR_S, 4.5 * HOUR_S]


# -- anomaly screen ----------------------------------------------------------------------------


def _lanes(
    rng: np.random.Generator, days: int, shift_day: int | None, spike: int | None
) -> list[tuple[float, float] | None]:
    """A daily cycle per hour, noise of 0.15 over 60 samples a hour, as rollup cells."""
    cells: list[tuple[float, float] | None] = []
    for j in range(days * 24):
        level = 24.0 + 2.0 * math.sin(2 * math.pi * (j % 24) / 24)
        if shift_day is not None and j >= shift_day * 24:
            level += 3.0
        x = level + rng.normal(0.0, 0.15, 60)
        if spike == j:
            x[30] += 4.0
        cells.append((float(x.min()), float(x.max())))
    return cells


def test_the_anomaly_screen_reads_series_with_an_outlying_hour() -> None:
    rng = np.random.default_rng(4)
    rows = {
        1: _lanes(rng, 10, None, None),
        2: _lanes(rng, 10, None, 5 * 24 + 7),
        3: _lanes(rng, 10, 6, None),
        4: _lanes(rng, 10, None, None),
    }
    grid = hour_grid(rollup(rows), [1, 2, 3, 4], H0, H0 + 10 * 24 * HOUR_S)
    params = AnomalyParams("t", k=8.0, clear_k=4.0, min_mad=0.1)
    suspects = anomaly_suspects(params, grid, ["UTC"] * 4)
    assert suspects.tolist() == [False, True, True, False]
    # A k the noise alone reaches flags the quiet series too.
    loose = AnomalyParams("t", k=2.0, clear_k=1.0)
    assert anomaly_suspects(loose, grid, ["UTC"] * 4).all()
