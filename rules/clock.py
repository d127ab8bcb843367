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
  a timestamp moves the clock only when the data bears it out (the rules see every reading):
  - the bulk: it is at most `lead_tolerance_s` ahead of the 90th percentile of the last
    `WINDOW` timestamps. One device is a small share of a site's data, so it cannot move that
    percentile; the rest of the site can;
  - the cadence: where the data is sparser than the tolerance (`CADENCE_STEPS` typical
    spacings exceed it), it continues trusted time by steps no longer than those. A lone
    device that reports hourly moves the clock an hour at a time, though each of its
    timestamps is far ahead of the percentile. Dense data keeps to the bulk (and its margin
    for data another ingest worker commits a moment later), and a fast device among it
    cannot move the clock, even where a replay batch runs on into its hour;
  - confirmation: `CONFIRMATIONS` later timestamps arrived in later batches, and nothing behind
    it (by more than `lead_tolerance_s`). Sparse data resuming after a gap is followed; a fast
    device among others is not, since the others' data keeps arriving at the real time.
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
#: A step between successive timestamps up to this many typical spacings continues time (one
#: missed report of a periodic device included, with some jitter).
CADENCE_STEPS = 2.5
#: Later timestamps, with nothing behind the lead, that confirm a lead the cadence cannot reach.
CONFIRMATIONS = 2


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
        #: Timestamps ahead of the clock that it may yet reach, the lowest being the lead.
        self._pending: npt.NDArray[np.float64] = np.empty(0)
        #: Later timestamps that arrived, with nothing behind the lead, since the lead did.
        self._confirmations = 0

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
        """Move the clock to the newest timestamp the data bears out (see the module's doc).

        Called from one thread (the engine's); `now` and `arrival` may be read from others."""
        if not epochs.size:
            return
        tolerance = self._lead_tolerance_s
        self._recent = np.concatenate((self._recent, epochs))[-WINDOW:]
        window = np.sort(self._recent)
        bulk = float(np.quantile(window, TRUSTED_QUANTILE)) + tolerance
        reached = float(epochs[epochs <= bulk].max(initial=-np.inf))
        if self._newest is not None:
            reached = max(reached, self._newest)
        pending = self._pending
        if pending.size:
            lead = float(pending.min())
            if bool((epochs < lead - tolerance).any()):
                pending = np.empty(0)  # data still arrives behind it: the lead is a device's
            else:
                self._confirmations += int(np.unique(epochs[epochs > lead]).size)
                if self._confirmations >= CONFIRMATIONS:
                    reached = max(reached, lead)
        if reached == -np.inf:
            return
        step = CADENCE_STEPS * _typical_spacing(window)
        if step > tolerance:
            reached = _follow(np.sort(np.concatenate((pending, epochs))), reached, step)
        kept = pending[pending > reached]
        if not (kept.size and kept.min() == pending.min()):
            self._confirmations = 0  # the lead was reached or dropped: a new one starts afresh
        self._pending = np.concatenate((kept, epochs[epochs > reached]))[-WINDOW:]
        with self._lock:
            if self._newest is None or reached > self._newest:
                self._newest = reached


def _typical_spacing(window: npt.NDArray[np.float64]) -> float:
    """The median step between distinct timestamps of a sorted window (0 with fewer than 2)."""
    steps = np.diff(window)
    steps = steps[steps > 0]
    return float(np.median(steps)) if steps.size else 0.0


def _follow(ahead: npt.NDArray[np.float64], start: float, step: float) -> float:
    """How far the sorted timestamps continue from `start` by steps of at most `step`."""
    ahead = ahead[ahead > start]
    if not ahead.size:
        return start
    breaks = np.flatnonzero(np.diff(ahead, prepend=start) > step)
    end = int(breaks[0]) if breaks.size else ahead.size
    return float(ahead[end - 1]) if end else start


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def clock_for(settings: RulesSettings, start: datetime | None = None) -> Clock:
    if settings.clock == "wall":
        return WallClock()
    return EventClock(start, settings.event_lateness_s, settings.event_lead_tolerance_s)
