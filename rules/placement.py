"""Where a status message (online/offline, a last will) goes on the engine's time line.

A status carries no device time: ingest stamps when it arrived (`StatusChange.ts`). On the wall
clock that is the right place. On event time (a replay delivers hours of old data in minutes)
the arrival stamp lies ahead of the data around it, so a status belongs after the data that
arrived before it, not at the wall clock's time:

- it is placed at the newest data time of the messages before it in its batch
  (`StatusChange.data_before`, which the store records as it writes the batch: the arrival
  order within a batch is known only there);
- and never before the clock's arrival time as it stood before the batch (the data of earlier
  batches arrived before it too); with no clock yet, never before the batch's first data time,
  or, for a batch without data, `now`;
- and never later than its own arrival stamp.

Nothing is moved while every status of the batch lies at or before the clock's arrival time
(the wall clock, or event time caught up with the present).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from store.records import StatusChange


def place_statuses(
    statuses: Sequence[StatusChange],
    *,
    arrival_before: datetime | None,
    arrival: datetime | None,
    data_epochs: npt.NDArray[np.float64],
    now: datetime,
) -> tuple[StatusChange, ...]:
    """`statuses` of one batch placed on the engine's time line (see the module's doc).

    `arrival_before` and `arrival` are the clock's arrival time (`Clock.arrival`) before and
    after it observed the batch's `data_epochs`; `now` is the clock's now after it."""
    if arrival is not None and all(st.ts <= arrival for st in statuses):
        return tuple(statuses)
    floor = arrival_before
    if floor is None:
        floor = _at(float(data_epochs.min())) if data_epochs.size else now
    return tuple(_placed(st, floor) for st in statuses)


def _placed(status: StatusChange, floor: datetime) -> StatusChange:
    placed = floor if status.data_before is None else max(floor, _at(status.data_before))
    return replace(status, ts=min(status.ts, placed))


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
