"""The engine's notion of now: the wall clock, or event time for replays at simulated speed.

Rules get `now` from the engine, never from `datetime.now()`, so a scenario replayed in minutes
evaluates holds, silences and escalation delays on the scenario's own time line.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def observe(self, newest_epoch: float | None) -> None:
        """Called with each batch's newest timestamp before the batch is evaluated."""


class WallClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def observe(self, newest_epoch: float | None) -> None:
        return None


class EventClock:
    """Now is the newest event time seen so far (never moving backwards); before any data,
    the `start` given (or the wall clock)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._epoch: float | None = None if start is None else start.timestamp()

    def now(self) -> datetime:
        with self._lock:
            epoch = self._epoch
        return datetime.now(UTC) if epoch is None else datetime.fromtimestamp(epoch, UTC)

    def observe(self, newest_epoch: float | None) -> None:
        if newest_epoch is None:
            return
        with self._lock:
            if self._epoch is None or newest_epoch > self._epoch:
                self._epoch = newest_epoch


def clock_named(name: str) -> Clock:
    if name == "wall":
        return WallClock()
    if name == "event":
        return EventClock()
    raise ValueError(f"unknown clock {name!r}: expected 'wall' or 'event'")
