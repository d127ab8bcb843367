"""place_statuses: a status (no device time) on the engine's time line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
import pytest

from rules.placement import place_statuses
from store.records import StatusChange

T0 = datetime(2026, 1, 1, tzinfo=UTC)
#: When ingest received the status: the present, days after the replayed data.
STAMP = T0 + timedelta(days=10)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def status(data_before_s: float | None, stamp: datetime = STAMP) -> StatusChange:
    before = None if data_before_s is None else at(data_before_s).timestamp()
    return StatusChange("court", "door-1", stamp, online=False, data_before=before)


def epochs(*seconds: float) -> npt.NDArray[np.float64]:
    return np.array([at(s).timestamp() for s in seconds], dtype=np.float64)


@pytest.mark.parametrize(
    ("given", "arrival_before", "arrival", "data", "placed"),
    [
        pytest.param(status(None), STAMP, STAMP, epochs(), STAMP, id="wall-clock-unmoved"),
        pytest.param(status(None), None, at(120), epochs(60, 120), at(60), id="first-of-all"),
        pytest.param(status(120), at(30), at(300), epochs(60, 300), at(120), id="after-data"),
        pytest.param(status(120), at(200), at(300), epochs(300), at(200), id="after-last-batch"),
        pytest.param(status(120, at(100)), at(30), at(300), epochs(300), at(100), id="own-stamp"),
        pytest.param(status(None), None, None, epochs(), at(999), id="no-data-at-all"),
    ],
)
def test_a_status_goes_after_the_data_that_arrived_before_it(
    given: StatusChange,
    arrival_before: datetime | None,
    arrival: datetime | None,
    data: npt.NDArray[np.float64],
    placed: datetime,
) -> None:
    (result,) = place_statuses(
        [given], arrival_before=arrival_before, arrival=arrival, data_epochs=data, now=at(999)
    )
    assert result.ts == placed
    assert (result.site, result.device, result.online) == (given.site, given.device, False)
