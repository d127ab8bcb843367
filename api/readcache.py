"""A few-second cache, with single flight, for the heaviest reads many callers repeat: a site's
overview and chart aggregates.

A dashboard polled by many people asks the same question many times a second; answering it
once per `ttl_s` keeps the database free for everything else. The answer is at most `ttl_s`
old (ApiSettings.read_cache_s); alert changes reach pages live through the SSE stream anyway.
Concurrent misses of one key wait for the first caller's query instead of each running it.
Keys include the caller's Visibility, so callers who see different things never share one.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")
_MAX_ENTRIES = 2_000


class ReadCache(Generic[T]):
    def __init__(self, ttl_s: float) -> None:
        self._ttl_s = ttl_s
        self._entries: OrderedDict[Hashable, tuple[float, asyncio.Future[T]]] = OrderedDict()

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        if self._ttl_s <= 0:
            return await compute()
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and now < entry[0]:
            return await asyncio.shield(entry[1])
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._entries[key] = (now + self._ttl_s, future)
        self._entries.move_to_end(key)
        while len(self._entries) > _MAX_ENTRIES:
            self._entries.popitem(last=False)
        try:
            result = await compute()
        except BaseException as exc:
            # Not cached: the next caller tries again; those waiting now get the same error.
            if self._entries.get(key, (0.0, None))[1] is future:
                del self._entries[key]
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        future.set_result(result)
        return result
