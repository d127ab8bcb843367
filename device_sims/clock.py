"""Clocks: real wall-clock time, or accelerated simulated time that the engine paces itself by."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Where "now" comes from, and how to wait until a later time on that clock."""

    def now(self) -> datetime: ...

    def sleep_until(self, when: datetime) -> None: ...


class RealClock:
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep_until(self, when: datetime) -> None:
        delay = (when - self.now()).total_seconds()
        if delay > 0:
            time.sleep(delay)


class SimulatedClock:
    """Simulated time that starts at `start` and runs `speed` simulated seconds per real second.

    `speed=0` means "as fast as possible": the clock never waits and `sleep_until` simply moves
    it forward, which also makes it a manual clock for tests (`advance`). The real-time source
    is injectable so tests can drive it without sleeping.
    """

    def __init__(
        self,
        start: datetime,
        speed: float = 0.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self._start = start.astimezone(UTC)
        self._speed = speed
        self._monotonic = monotonic
        self._sleep = sleep
        self._real0 = monotonic()
        self._manual = self._start

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        if self._speed == 0:
            return self._manual
        elapsed = (self._monotonic() - self._real0) * self._speed
        return self._start + timedelta(seconds=elapsed)

    def advance(self, seconds: float) -> None:
        """Move a manual (speed 0) clock forward."""
        if self._speed != 0:
            raise RuntimeError("only a speed-0 clock can be advanced by hand")
        self._manual += timedelta(seconds=seconds)

    def sleep_until(self, when: datetime) -> None:
        if self._speed == 0:
            self._manual = max(self._manual, when.astimezone(UTC))
            return
        delay = (when - self.now()).total_seconds() / self._speed
        if delay > 0:
            self._sleep(delay)
