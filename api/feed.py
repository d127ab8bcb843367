"""Alert changes for SSE: one LISTEN connection per process, fanned out to every subscriber.

The store's trigger NOTIFYs transitions.CHANGES_CHANNEL at commit with the change id and the
alert's site, household and category. The feed loads each change with its alert once, then
hands it to the subscribers whose Visibility allows it. A subscriber that falls too far behind
is ended (its client reconnects with Last-Event-ID and catches up from the database); a lost
LISTEN connection is reopened and the changes committed meanwhile are caught up the same way.

The same connection listens for access changes (a token revoked, a session ended, a user
deactivated): the feed then calls `on_access_change` (the API drops its cached authentications)
and wakes every subscriber, whose stream re-checks its caller at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Final

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from api import metrics
from store.access import changes
from store.access.changes import ACCESS_CHANNEL
from store.access.visibility import Visibility
from store.alerts import alert_reads, transitions
from store.alerts.records import Alert, AlertChange
from store.backoff import Backoff
from store.pool import conninfo
from store.settings import StoreSettings

logger = logging.getLogger(__name__)

#: application_name of the LISTEN session, one per API process.
LISTENER_NAME = "courtyard-api-listen"
#: Reconnection waits double up to this (store.backoff): the listener is back within seconds of
#: the database's return, however long it was away.
_MAX_BACKOFF_S = 2.0
#: How long stopping waits for the listener task to end.
_STOP_WAIT_S = 5.0


@dataclass(frozen=True, slots=True)
class FeedItem:
    change: AlertChange
    alert: Alert


class _Wake:
    """Queued to make a waiting subscriber return: its caller's access may have changed."""


_WAKE: Final = _Wake()


class Subscription:
    """One SSE client's queue. Iterate it, or take it in batches; it ends when the feed stops or
    it overflowed."""

    def __init__(self, feed: AlertFeed, visibility: Visibility, size: int) -> None:
        self.visibility = visibility
        self.overflowed = False
        self._feed = feed
        self._queue: asyncio.Queue[FeedItem | _Wake | None] = asyncio.Queue(maxsize=size)
        self._woken = False

    def allows(self, site_id: str, household_id: str | None, category: str) -> bool:
        return self.visibility.allows_alert(site_id, household_id, category)

    def offer(self, item: FeedItem) -> None:
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed = True
            self.end()

    def end(self) -> None:
        self._feed.unsubscribe(self)
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)
        if self.overflowed:
            # Make room for the end marker: the client catches up from the database anyway.
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(None)

    def wake(self) -> None:
        # One pending wake is enough (many would fill the queue); a full queue wakes anyway.
        if not self._woken:
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(_WAKE)
                self._woken = True

    async def next_batch(self, timeout_s: float) -> list[FeedItem] | None:
        """Every change queued once one is (or `wake` was called, or `timeout_s` passed: then
        possibly none); None when the subscription has ended."""
        try:
            first = await asyncio.wait_for(self._queue.get(), timeout_s)
        except TimeoutError:
            return []
        taken = [first]
        while not self._queue.empty():
            taken.append(self._queue.get_nowait())
        self._woken = False
        if None in taken:
            return None
        return [item for item in taken if isinstance(item, FeedItem)]

    async def __aiter__(self) -> AsyncIterator[FeedItem]:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            if isinstance(item, FeedItem):
                yield item


class AlertFeed:
    def __init__(
        self,
        store: StoreSettings,
        pool: AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]],
        queue_size: int,
        on_access_change: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._pool = pool
        self._queue_size = queue_size
        self._on_access_change = on_access_change
        self._subscribers: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self._last_change_id: int | None = None
        #: Set while the LISTEN connection is open (tests wait on it before committing).
        self.listening = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="courtyard-api-alert-feed")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            # Bounded: a cancellation can be lost inside a driver's wait (psycopg_pool's getconn
            # racing a connection handed over, psycopg#1345), and shutting down must not hang.
            done, _ = await asyncio.wait({task}, timeout=_STOP_WAIT_S)
            if not done:
                logger.warning("alert feed: the listener did not stop in %.0f s", _STOP_WAIT_S)
            elif not task.cancelled() and task.exception() is not None:
                logger.warning("alert feed: the listener failed: %s", task.exception())
        for subscription in list(self._subscribers):
            subscription.end()

    def subscribe(self, visibility: Visibility) -> Subscription:
        subscription = Subscription(self, visibility, self._queue_size)
        self._subscribers.add(subscription)
        metrics.STREAM_SUBSCRIBERS.set(len(self._subscribers))
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)
        metrics.STREAM_SUBSCRIBERS.set(len(self._subscribers))

    async def _run(self) -> None:
        backoff = Backoff(cap_s=_MAX_BACKOFF_S)
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a lost connection, a server restart: retry
                logger.warning("alert feed: %s; reconnecting", exc)
            if self.listening.is_set():
                backoff.reset()  # it was listening: a new outage starts the waits afresh
            self.listening.clear()
            await asyncio.sleep(backoff.next())

    async def _listen(self) -> None:
        # Named so that `courtyard status` counts API processes: one listener each.
        async with await psycopg.AsyncConnection.connect(
            conninfo(self._store, LISTENER_NAME), autocommit=True
        ) as conn:
            await transitions.alisten(conn)
            await changes.alisten(conn)
            # Access may have changed while nobody listened.
            self._access_changed()
            await self._catch_up(conn)
            self.listening.set()
            async for note in conn.notifies():
                if note.channel == ACCESS_CHANNEL:
                    self._access_changed()
                else:
                    await self._dispatch(note.payload)

    def _access_changed(self) -> None:
        if self._on_access_change is not None:
            self._on_access_change()
        for subscription in list(self._subscribers):
            subscription.wake()

    async def _catch_up(self, conn: psycopg.AsyncConnection[TupleRow]) -> None:
        """After a reconnect, deliver the changes committed while nobody was listening. On the
        listening connection itself, before it waits for notifications: no pool involved while
        the process is still starting."""
        if self._last_change_id is None:
            self._last_change_id = await alert_reads.last_change_id(conn)
            return
        while True:
            rows = await alert_reads.changes_with_alerts(conn, after_id=self._last_change_id)
            for change, alert in rows:
                self._fan_out(FeedItem(change, alert))
            if len(rows) < 1000:
                return

    async def _dispatch(self, payload: str) -> None:
        try:
            note = json.loads(payload)
            change_id = int(note["change_id"])
            site_id, household_id, category = (
                str(note["site_id"]),
                note.get("household_id"),
                str(note["category"]),
            )
        except (ValueError, KeyError, TypeError):
            logger.warning("alert feed: ignoring a malformed notification %.200s", payload)
            return
        metrics.STREAM_CHANGES.inc()
        if not any(s.allows(site_id, household_id, category) for s in self._subscribers):
            self._last_change_id = max(self._last_change_id or 0, change_id)
            return  # nobody here may see it: no need to load it
        async with self._pool.connection() as conn:
            rows = await alert_reads.changes_with_alerts(conn, change_ids=[change_id])
        for change, alert in rows:
            self._fan_out(FeedItem(change, alert))

    def _fan_out(self, item: FeedItem) -> None:
        self._last_change_id = max(self._last_change_id or 0, item.change.id)
        for subscription in list(self._subscribers):
            if subscription.allows(
                item.alert.site_id, item.alert.household_id, item.alert.category
            ):
                subscription.offer(item)
