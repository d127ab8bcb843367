"""Supervisor: restarts an embedded server of `courtyard up` that exited without being asked.

A broker or database that crashes (an OOM kill, a bug, someone's `kill`) would otherwise leave
`up` running on without it. Every client reconnects for as long as it takes (ingest's paho
loop, the simulator, the pools and the rules engine), so bringing the server back on the same
port and data is all it takes to carry on. Restarts are logged and spaced by a capped backoff,
so a server that cannot start (its port taken, its disk full) is retried, not spun on.

Threads: `poll()` runs on the main thread, the one that started the servers (an embedded server
dies with the thread that started it, see courtyard.embedded.child).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from courtyard.embedded import EmbeddedError
from courtyard.embedded.child import ChildServer

logger = logging.getLogger(__name__)

#: Waits between restarts of one server double from the first up to the last.
FIRST_RETRY_S = 1.0
MAX_RETRY_S = 10.0
#: A server that ran this long since its restart starts the waits afresh when it dies again.
STABLE_S = 60.0
#: How long a restart may take to accept connections before it counts as failed.
RESTART_TIMEOUT_S = 30.0


@dataclass(slots=True)
class _Watched:
    name: str
    server: ChildServer
    restarts: int = 0
    #: The wait before the next restart; 0 while the server has been stable.
    retry_s: float = 0.0
    #: No restart before this (monotonic seconds).
    next_try: float = 0.0
    started_at: float = 0.0
    down: bool = False


class Supervisor:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._watched: list[_Watched] = []

    def watch(self, name: str, server: ChildServer) -> None:
        """Look after `server` (started already) from now on."""
        self._watched.append(_Watched(name, server, started_at=self._clock()))

    def poll(self) -> None:
        """Restart each watched server that has exited, when its backoff allows."""
        for watched in self._watched:
            self._poll(watched)

    def _poll(self, w: _Watched) -> None:
        now = self._clock()
        if w.server.pid is not None:
            if w.retry_s and now - w.started_at >= STABLE_S:
                w.retry_s, w.next_try = 0.0, 0.0
            return
        if not w.down:
            w.down = True
            logger.error(
                "%s exited on its own (exit code %s); restarting it", w.name, w.server.exit_code
            )
        if now < w.next_try:
            return
        w.restarts += 1
        # Each restart waits longer than the last (1, 2, 4 ... 10 s) until one stays up.
        w.retry_s = min(max(w.retry_s * 2, FIRST_RETRY_S), MAX_RETRY_S)
        try:
            w.server.start(RESTART_TIMEOUT_S)
        except (EmbeddedError, OSError) as exc:
            w.next_try = self._clock() + w.retry_s
            logger.error(
                "%s did not restart (attempt %d): %s; trying again in %.0f s",
                w.name, w.restarts, exc, w.retry_s,
            )  # fmt: skip
            return
        w.started_at = self._clock()
        w.next_try = w.started_at + w.retry_s
        w.down = False
        logger.warning("%s restarted (restart %d, pid %s)", w.name, w.restarts, w.server.pid)
