"""ReadCache: one computation per key and interval, concurrent misses share it, errors are not
kept, 0 disables it; AuthCache likewise keeps a principal only for its TTL."""

from __future__ import annotations

import asyncio

import pytest

from api.readcache import ReadCache


def test_concurrent_misses_share_one_computation() -> None:
    calls = 0

    async def compute() -> object:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return calls

    async def scenario() -> list[object]:
        cache: ReadCache[object] = ReadCache(ttl_s=60)
        first = await asyncio.gather(*(cache.get("k", compute) for _ in range(10)))
        again = await cache.get("k", compute)
        other = await cache.get("other", compute)
        return [*first, again, other]

    assert asyncio.run(scenario()) == [1] * 11 + [2]
    assert calls == 2


def test_errors_are_not_cached_and_zero_disables() -> None:
    attempts = 0

    async def flaky() -> object:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("database gone")
        return attempts

    async def scenario() -> tuple[object, object, object]:
        cache: ReadCache[object] = ReadCache(ttl_s=60)
        with pytest.raises(RuntimeError):
            await cache.get("k", flaky)
        recovered = await cache.get("k", flaky)
        off: ReadCache[object] = ReadCache(ttl_s=0)
        return recovered, await off.get("k", flaky), await off.get("k", flaky)

    assert asyncio.run(scenario()) == (2, 3, 4)
