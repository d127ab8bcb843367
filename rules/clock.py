"""The engine's notion of now: the wall clock, or event time for replays at simulated speed.

Rules get `now` from the engine, never from `datetime.now()`, so a scenario replayed in minutes
evaluates holds, silences and escalation delays on the scenario's own time line.

Event time is a watermark, as in stream processors: the newest plausible data timestamp, held
back by an allowed lateness. Two things make the plain newest timestamp wrong:

* A replay runs faster than real time, so one ingest batch spans minutes of event time, and
  messages that travel another way (a second ingest worker, a gateway flushing its buffer, a
  QoS retry) land in a later batch. Judged at the batch's newest time, a door whose closing is
  in the next batch looks held open. The lateness gives them time to arrive.
* A device whose clock runs fast would drag now ahead for every other device, which then all
  look silent. On the wall clock, ingest rejects such readings as future-dated; on event time
  the clock ignores timestamps further than `lead_tolerance_s` ahead of the 90th percentile of
  the last `WINDOW` timestamps (the rules still see the readings). One device is a small share
  of a site's data, so it cannot move that percentile; the rest of the site can.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Protocol

import numpy as np
import numpy.typing as npt

from rules.settings import RulesSettings

#: How many recent data timestamps decide what is plausible (a replay batch, or live minutes).
WINDOW = 1024
#: Timestamps up to this quantile of the window are trusted as they are.
TRUSTED_QUANTILE = 0.9


class Clock(Protocol):
    def now(self) -> datetime: ...

    def arrival(self) -> datetime | None:
        """Where a message without device time (a status) that arrives now is placed; None
        when nothing has been seen yet to place it against."""

    def observe(self, epochs: npt.NDArray[np.float64]) -> None:
        """Called with each batch's data timestamps (epoch seconds) before it is evaluated."""


class WallClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def arrival(self) -> datetime | None:
        return datetime.now(UTC)

    def observe(self, epochs: npt.NDArray[np.float64]) -> None:
        return None


class EventClock:
    """Now is the newest plausible event time seen so far minus `lateness_s`, never moving
    backwards; before any data, the `start` given (or the wall clock)."""

    def __init__(
        self,
        start: datetime | None = None,
        lateness_s: float = 0.0,
        lead_tolerance_s: float = 300.0,
    ) -> None:
        self._lock = threading.Lock()
        self._lateness_s = lateness_s
        self._lead_tolerance_s = lead_tolerance_s
        self._start: float | None = None if start is None else start.timestamp()
        self._newest: float | None = None
        self._recent: npt.NDArray[np.float64] = np.empty(0)

    def now(self) -> datetime:
        with self._lock:
            newest = self._newest
        if newest is None:
            return datetime.now(UTC) if self._start is None else _at(self._start)
        watermark = newest - self._lateness_s
        return _at(watermark if self._start is None else max(watermark, self._start))

    def arrival(self) -> datetime | None:
        """The newest event time, without the lateness: a status message has just arrived."""
        with self._lock:
            newest = self._newest
        if newest is None:
            return None if self._start is None else _at(self._start)
        return _at(newest if self._start is None else max(newest, self._start))

    def observe(self, epochs: npt.NDArray[np.float64]) -> None:
        if not epochs.size:
            return
        self._recent = np.concatenate((self._recent, epochs))[-WINDOW:]
        trusted = float(np.quantile(self._recent, TRUSTED_QUANTILE))
        newest = float(epochs[epochs <= trusted + self._lead_tolerance_s].max(initial=-np.inf))
        if newest == -np.inf:
            return
        with self._lock:
            if self._newest is None or newest > self._newest:
                self._newest = newest


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def clock_for(settings: RulesSettings, start: datetime | None = None) -> Clock:
    if settings.clock == "wall":
        return WallClock()
    return EventClock(start, settings.event_lateness_s, settings.event_lead_tolerance_s)
