"""Backoff: the capped, doubling waits every long-running loop uses to ride out a store outage.

The waits start short (a restart of the server is over in a second or two) and double up to a
cap, so a loop is back within one cap of the store's return however long it was away, without
hammering a server that is still starting. `reset()` after a success starts the next outage
afresh. Waiting itself is the caller's (`stop.wait(...)`, `asyncio.sleep(...)`), so one helper
serves threads and coroutines alike.
"""

from __future__ import annotations

#: The first wait.
FIRST_S = 0.5


class Backoff:
    def __init__(self, cap_s: float, first_s: float = FIRST_S) -> None:
        if not 0 < first_s <= cap_s:
            raise ValueError(f"need 0 < first_s <= cap_s, got {first_s} and {cap_s}")
        self._first_s = first_s
        self._cap_s = cap_s
        self._wait_s = first_s

    @property
    def wait_s(self) -> float:
        """The wait `next()` gives next (for log lines that announce it)."""
        return self._wait_s

    def next(self) -> float:
        """The wait before this retry; the following one doubles, up to the cap."""
        wait_s = self._wait_s
        self._wait_s = min(self._wait_s * 2, self._cap_s)
        return wait_s

    def reset(self) -> None:
        self._wait_s = self._first_s
