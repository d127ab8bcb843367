"""Outbox → channels: claim due rows, send each outside the transaction, record the outcome.

Each round claims due rows per channel, at most as many as the channel has free workers, in one
short transaction (the claim is the row's lease, see store.alerts.outbox), then hands each row to
its channel's bounded thread pool. A worker sends, then records sent or failed in a transaction of
its own. So a slow or failing channel fills only its own workers: its rows wait unclaimed in the
outbox while the other channels keep sending.

Nothing is held in memory that the outbox does not also hold: a dispatcher killed mid-send loses
its leases, not notifications; the rows are claimed again when the leases run out (at least
once, with the idempotency key for the far end). Several dispatchers can share one outbox.

Threads: the caller's (`run_forever`'s loop, or `run_once`), one LISTEN thread while
`run_forever` runs, and `workers_per_channel` workers per channel.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime

import psycopg
from prometheus_client import Counter
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from rules.notify import Sender, SendResult
from rules.notify.apprise_channel import AppriseSender
from rules.notify.settings import NotifySettings
from rules.notify.webhook import WebhookSender
from store.alerts import outbox, receivers, transitions
from store.alerts.outbox import Notification
from store.alerts.transitions import CHANGES_CHANNEL
from store.errors import is_transient
from store.pool import conninfo as conninfo_of
from store.pool import sync_pool
from store.settings import StoreSettings

logger = logging.getLogger(__name__)

NOTIFICATIONS = Counter(
    "courtyard_notifications",
    "Notification delivery attempts by channel and outcome (sent, retry, failed).",
    ["channel", "outcome"],
)

#: Shortest wait between rounds when rows are due but could not be claimed (another
#: dispatcher's claim transaction holds them for a moment): enough not to spin.
_MIN_WAIT_S = 0.05
#: How often blocking waits look at the stop event.
_STOP_CHECK_S = 0.25
#: Wait before reconnecting the LISTEN connection after it failed.
_LISTEN_RETRY_S = 1.0

Pool = ConnectionPool[psycopg.Connection[TupleRow]]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def senders_for(settings: NotifySettings) -> dict[str, Sender]:
    """The senders of every channel Courtyard has, configured from `settings`."""
    return {
        "webhook": WebhookSender(
            settings.webhook_secret.get_secret_value(),
            timeout_s=settings.webhook_timeout_s,
            max_connections=settings.workers_per_channel,
            destinations=settings.destinations,
        ),
        "apprise": AppriseSender(
            timeout_s=settings.apprise_timeout_s, destinations=settings.destinations
        ),
    }


class Dispatcher:
    def __init__(
        self,
        db: Pool | StoreSettings | str,
        senders: Mapping[str, Sender],
        settings: NotifySettings,
        *,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        """`db` is a pool, or the store settings (or just a postgresql:// URL) for a pool of
        the dispatcher's own, made by store.pool to ride out database outages.

        `senders` maps a channel name (`webhook`, `apprise`) to its sender; rows of other
        channels are left for a dispatcher that has a sender for them.
        """
        if not senders:
            raise ValueError("a dispatcher needs at least one sender")
        self._senders = dict(senders)
        self._settings = settings
        self._clock = clock
        workers = settings.workers_per_channel
        self._connect_kwargs: dict[str, object] = {}
        if not isinstance(db, ConnectionPool):
            store = db if isinstance(db, StoreSettings) else StoreSettings(url=db)
            self._conninfo = conninfo_of(store, "courtyard-notify-listen")
            self._pool: Pool = sync_pool(
                store,
                "courtyard-notify",
                min_size=1,
                # every worker may record at once, plus the claiming loop
                max_size=workers * len(senders) + 1,
            )
            self._pool.open(wait=False)
            self._own_pool = True
        else:
            # The LISTEN connection is a separate one, to the pool's server and database.
            conninfo, kwargs = db.conninfo, db.kwargs
            self._conninfo = conninfo() if callable(conninfo) else conninfo
            self._connect_kwargs = dict((kwargs() if callable(kwargs) else kwargs) or {})
            self._pool = db
            self._own_pool = False
        self._executors = {
            channel: ThreadPoolExecutor(workers, thread_name_prefix=f"courtyard-notify-{channel}")
            for channel in senders
        }
        self._lock = threading.Lock()
        self._in_flight = dict.fromkeys(senders, 0)
        self._wake = threading.Event()

    @property
    def channels(self) -> list[str]:
        return list(self._senders)

    def run_once(self, now: datetime) -> int:
        """Send everything due at `now` on every channel; return when all outcomes are recorded.

        Outcomes are recorded at `now` too (retry times count from it), so tests and replays
        drive time with this argument. A channel's workers take new rows as they finish, as in
        `run_forever`; each row is attempted at most once per call, since a failed row is due
        again only after its backoff. Returns the number of notifications attempted.
        """
        attempted = 0
        in_flight: set[Future[None]] = set()
        while True:
            claimed = self._dispatch(now, lambda: now)
            attempted += len(claimed)
            in_flight.update(claimed)
            if not in_flight:
                return attempted
            _, pending = wait(in_flight, return_when=FIRST_COMPLETED)
            in_flight = set(pending)

    def run_forever(self, stop_event: threading.Event) -> None:
        """Deliver until `stop_event` is set; then wait for the sends in flight and return.

        Wakes when a change is announced (LISTEN), when a worker frees a slot, when the next
        deferred or retried row is due, and at least every `poll_interval_s`.
        """
        stopping = threading.Event()
        listener = threading.Thread(
            target=self._listen,
            args=(stop_event, stopping),
            name="courtyard-notify-listen",
            daemon=True,
        )
        listener.start()
        in_flight: set[Future[None]] = set()
        try:
            while not stop_event.is_set():
                self._wake.clear()
                try:
                    in_flight = {f for f in in_flight if not f.done()}
                    in_flight.update(self._dispatch(self._clock(), self._clock))
                    idle_s = self._idle_time()
                except psycopg.Error as exc:
                    if not is_transient(exc):
                        raise
                    logger.warning("outbox unavailable, retrying: %s", exc)
                    idle_s = self._settings.poll_interval_s
                self._sleep(idle_s, stop_event)
        finally:
            stopping.set()
            listener.join()
            wait(in_flight)

    def close(self) -> None:
        """Wait for the sends in flight, close the senders and the pool (if the dispatcher's)."""
        for executor in self._executors.values():
            executor.shutdown(wait=True)
        for sender in self._senders.values():
            sender.close()
        if self._own_pool:
            self._pool.close()

    def __enter__(self) -> Dispatcher:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _dispatch(self, now: datetime, record_at: Callable[[], datetime]) -> list[Future[None]]:
        s = self._settings
        with self._lock:
            room = {ch: s.workers_per_channel - n for ch, n in self._in_flight.items()}
        claimed: list[Notification] = []
        with self._pool.connection() as conn:
            for channel, free in room.items():
                if free > 0:
                    claimed += outbox.claim_due(
                        conn,
                        now,
                        min(free, s.batch_size),
                        s.lease_s,
                        max_attempts=s.max_attempts,
                        channels=[channel],
                    )
            contacts = receivers.channels_of(conn, {n.receiver for n in claimed}) if claimed else {}
        # The claims are committed: from here each row is a worker's until its lease runs out.
        futures = []
        for n in claimed:
            with self._lock:
                self._in_flight[n.channel] += 1
            target = contacts[n.receiver].get(n.channel) if n.receiver in contacts else None
            futures.append(
                self._executors[n.channel].submit(
                    self._deliver, n, target, n.receiver in contacts, record_at
                )
            )
        return futures

    def _deliver(
        self,
        n: Notification,
        target: object,
        receiver_active: bool,
        record_at: Callable[[], datetime],
    ) -> None:
        try:
            result = self._send(n, target, receiver_active)
            self._record(n, result, record_at())
        except Exception:
            # The row stays `sending` and is claimed again when its lease runs out.
            logger.exception("notification %s: outcome not recorded", n.id)
        finally:
            with self._lock:
                self._in_flight[n.channel] -= 1
            self._wake.set()

    def _send(self, n: Notification, target: object, receiver_active: bool) -> SendResult:
        if not receiver_active:
            return SendResult.permanent(f"receiver {n.receiver} was removed or deactivated")
        if not target:
            return SendResult.permanent(f"receiver {n.receiver} has no {n.channel} target")
        try:
            return self._senders[n.channel].send(n, target)
        except Exception as exc:
            logger.exception("notification %s: %s sender raised", n.id, n.channel)
            return SendResult.retry(f"{type(exc).__name__}: {exc}")

    def _record(self, n: Notification, result: SendResult, now: datetime) -> None:
        s = self._settings
        with self._pool.connection() as conn:
            if result.ok:
                outbox.mark_sent(conn, n.id, now)
                NOTIFICATIONS.labels(n.channel, "sent").inc()
                return
            status = outbox.mark_failed(
                conn,
                n.id,
                error=result.error or "unknown error",
                recoverable=result.recoverable,
                now=now,
                max_attempts=s.max_attempts,
                base_delay_s=s.retry_base_delay_s,
                max_delay_s=s.retry_max_delay_s,
            )
        outcome = "failed" if status == outbox.NotificationStatus.FAILED else "retry"
        NOTIFICATIONS.labels(n.channel, outcome).inc()
        log = logger.warning if outcome == "failed" else logger.info
        log(
            "notification %s to %s via %s, attempt %s: %s (%s)",
            n.id,
            n.receiver,
            n.channel,
            n.attempts,
            result.error,
            outcome,
        )

    def _idle_time(self) -> float:
        """How long the loop may sleep: until the next row is due, at most one poll interval."""
        poll_s = self._settings.poll_interval_s
        with self._lock:
            open_channels = [
                ch for ch, n in self._in_flight.items() if n < self._settings.workers_per_channel
            ]
        if not open_channels:
            return poll_s  # a worker that finishes wakes the loop
        with self._pool.connection() as conn:
            due = outbox.next_due(conn, channels=open_channels)
        if due is None:
            return poll_s
        return min(poll_s, max((due - self._clock()).total_seconds(), _MIN_WAIT_S))

    def _sleep(self, seconds: float, stop_event: threading.Event) -> None:
        deadline = time.monotonic() + seconds
        while not stop_event.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._wake.wait(min(remaining, _STOP_CHECK_S)):
                return

    def _listen(self, stop_event: threading.Event, stopping: threading.Event) -> None:
        """Set the wake event on every announced alert change (LISTEN thread)."""
        while not (stop_event.is_set() or stopping.is_set()):
            try:
                options = {**self._connect_kwargs, "autocommit": True}
                with psycopg.connect(self._conninfo, **options) as conn:  # type: ignore[arg-type]
                    transitions.listen(conn)
                    # Changes committed while nobody listened are found by the next round.
                    self._wake.set()
                    while not (stop_event.is_set() or stopping.is_set()):
                        for _ in conn.notifies(timeout=_STOP_CHECK_S):
                            self._wake.set()
            except psycopg.Error as exc:
                logger.warning("LISTEN %s failed, polling meanwhile: %s", CHANGES_CHANNEL, exc)
                stopping.wait(_LISTEN_RETRY_S)
