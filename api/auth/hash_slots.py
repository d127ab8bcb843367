"""A bound on the password hashes the API checks at once, which anyone can ask for unauthenticated.

argon2 with argon2-cffi's defaults costs ~50 ms of CPU and 64 MiB of memory per check, on a
thread: forty logins at once (the thread pool's size) would take 2.5 GiB. An attempt waits
briefly for a free slot and is otherwise answered at once ("busy", 503 with Retry-After), so
that a flood of logins neither queues without end nor starves the other requests. One bound per
worker process, held by the application's lifespan (an asyncio semaphore belongs to its loop).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class HashSlots:
    def __init__(self, slots: int, wait_s: float) -> None:
        self._semaphore = asyncio.Semaphore(slots)
        self._wait_s = wait_s

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[bool]:
        """Yields True holding a slot, or False when none freed up within the wait."""
        try:
            await asyncio.wait_for(self._semaphore.acquire(), timeout=self._wait_s)
        except TimeoutError:
            yield False
            return
        try:
            yield True
        finally:
            self._semaphore.release()

    async def acquire(self) -> None:
        """Hold a slot until `release`, waiting as long as it takes."""
        await self._semaphore.acquire()

    def release(self) -> None:
        self._semaphore.release()
