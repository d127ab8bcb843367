"""The alert feed's own life: it stops whenever it is stopped (an API process that starts and
stops at once must not hang its shutdown), and a lost LISTEN connection catches up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from api import feed as feed_module
from api.feed import LISTENER_NAME, AlertFeed, FeedItem
from store.access.visibility import Visibility
from store.alerts import transitions
from store.settings import StoreSettings
from tests.api.world import NOW, World

Pool = AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]]


@asynccontextmanager
async def _pool(url: str) -> AsyncIterator[Pool]:
    pool: Pool = AsyncConnectionPool(url, min_size=1, kwargs={"autocommit": True}, open=False)
    await pool.open(wait=False)  # as the API opens it: not waiting for its connections
    try:
        yield pool
    finally:
        await pool.close()


async def _within(seconds: float, what: Callable[[], Awaitable[object]]) -> None:
    """`what` finishes, or the test fails instead of hanging."""
    await asyncio.wait_for(what(), timeout=seconds)


def test_a_feed_stopped_at_any_moment_of_its_start_stops(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def run() -> None:
        async with _pool(database_url) as pool:
            # From "at once" to "after it listens": every step of starting gets interrupted.
            for delay_ms in (0, 0, 1, 2, 5, 10, 20, 50, 100, 200, 0, 1, 3, 7, 15, 30):
                feed = AlertFeed(StoreSettings(url=database_url), pool, 10)
                await feed.start()
                await asyncio.sleep(delay_ms / 1000)
                await _within(10, feed.stop)

    with caplog.at_level(logging.WARNING, logger="api.feed"):
        asyncio.run(run())
    # Each listener ended on its cancel, none was left behind when stopping gave up waiting.
    assert "did not stop" not in caplog.text


def test_stopping_is_bounded_even_if_the_listener_ignores_its_cancellation(
    database_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    release = asyncio.Event()

    async def stubborn(self: AlertFeed) -> None:
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue  # what a lost cancellation looks like from outside

    monkeypatch.setattr(feed_module, "_STOP_WAIT_S", 0.2)
    monkeypatch.setattr(AlertFeed, "_run", stubborn)

    async def run() -> None:
        async with _pool(database_url) as pool:
            feed = AlertFeed(StoreSettings(url=database_url), pool, 10)
            await feed.start()
            await asyncio.sleep(0)
            with caplog.at_level(logging.WARNING, logger="api.feed"):
                await _within(5, feed.stop)
            release.set()
            await asyncio.sleep(0.05)  # let the stubborn task end before the loop closes

    asyncio.run(run())
    assert "did not stop" in caplog.text


def test_changes_committed_while_the_listener_was_away_are_caught_up(
    world: World, database_url: str
) -> None:
    alert_id = world.places["facility"].alert_id

    async def run() -> list[FeedItem]:
        async with _pool(database_url) as pool:
            feed = AlertFeed(StoreSettings(url=database_url), pool, 10)
            await feed.start()
            await _within(10, feed.listening.wait)
            subscription = feed.subscribe(Visibility.everything())
            received: list[FeedItem] = []

            async def collect() -> None:
                async for item in subscription:
                    received.append(item)
                    if item.change.change == "commented":
                        return

            collecting = asyncio.create_task(collect())
            with psycopg.connect(database_url, autocommit=True) as conn:
                # The listener's connection is cut; the comment is committed before it is back.
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = %s AND datname = current_database()",
                    (LISTENER_NAME,),
                )
                with conn.transaction():
                    transitions.comment(
                        conn, alert_id, text="back soon", actor="user:admin", at=NOW
                    )
            await _within(30, lambda: collecting)
            await feed.stop()
            return received

    received = asyncio.run(run())
    assert [(i.change.change, i.alert.id) for i in received] == [("commented", alert_id)]
