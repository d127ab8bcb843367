"""Batcher: the writer thread. Batches the inbox by count and age, writes, commits, then acks.

Acknowledgement strictly follows the commit, so what the broker forgets is always stored:
- a transient database error (connection lost, server restarting) retries the same batch with
  capped exponential backoff; nothing is acknowledged meanwhile, and the bounded inbox plus MQTT 5
  Receive Maximum keep memory flat however long the outage lasts;
- a store fault (schema missing, permission denied) is the deployment's: it is retried the same
  way, logged as an error, until the operator's fix;
- any other failure, whatever its type (a value the database refuses, a value no encoder can
  write, a bug), is some message's fault: the batch is halved until the message is alone, and a
  message that fails alone, again from a fresh connection, is stored as a reject; the rest is
  stored normally. Faults of the first two kinds met while halving are retried like any other,
  so they never pass for a message's fault.
A message that kills the whole process (no handler gets a turn) is caught after the restart by
the crash guard (ingest/crash_guard.py): it is tried alone, then rejected without another try.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import psycopg
from psycopg.rows import TupleRow

from ingest import metrics
from ingest.crash_guard import CONVICTED_REASON, CrashGuard, Delivery, delivery
from ingest.decoders.result import DecodeContext, Rejected
from ingest.inbound import Inbound
from ingest.intake import PAYLOAD_PREFIX_BYTES, rejected, to_message
from ingest.settings import IngestSettings
from store.backoff import Backoff
from store.errors import is_store_fault, is_transient
from store.readings import in_flight
from store.readings.writer import BatchWriter, WriteResult
from store.records import Message

logger = logging.getLogger(__name__)

Acknowledge = Callable[[Inbound], bool]
#: Called after each commit, on the writer thread: a wake-up for an
#: in-process rules engine, which reads what was stored from the committed-batch feed
#: (store/readings/feed.py). It must return at once.
OnCommitted = Callable[[], None]
ContextSource = Callable[[psycopg.Connection[TupleRow]], DecodeContext]

_INITIAL_BACKOFF_S = 0.1
#: Exception text kept in a reject's reason: enough to see what went wrong.
_SHOWN_ERROR_CHARS = 300

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Pending:
    inbound: Inbound
    message: Message


class _Stopping(Exception):
    """Stop was set while waiting for the database: what is not stored stays unacknowledged."""


class Batcher:
    def __init__(
        self,
        inbox: queue.Queue[Inbound],
        *,
        settings: IngestSettings,
        database_url: str,
        acknowledge: Acknowledge,
        decode_context: ContextSource,
        on_committed: OnCommitted | None = None,
        context_refresh_s: float = 30.0,
    ) -> None:
        self._inbox = inbox
        self._settings = settings
        self._database_url = database_url
        self._acknowledge = acknowledge
        self._decode_context = decode_context
        self._on_committed = on_committed
        self._context_refresh_s = context_refresh_s
        self._worker = settings.client_id
        self._writer = self._new_writer()
        self._guard: CrashGuard | None = None
        self._conn: psycopg.Connection[TupleRow] | None = None
        self._context: DecodeContext | None = None
        self._context_loaded_at = 0.0
        #: Totals since start, for the worker's closing log line.
        self.messages_received = 0
        self.readings_stored = 0

    def run(self, stop: threading.Event) -> None:
        """Thread body: loop until `stop` is set, then flush what the inbox holds and return."""
        try:
            while not stop.is_set():
                batch = self._collect(stop)
                if batch:
                    self._process(batch, stop)
            self._drain(stop)
            self._forget_in_flight()
        finally:
            self._close()

    def _collect(self, stop: threading.Event) -> list[Inbound]:
        try:
            first = self._inbox.get(timeout=0.25)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self._settings.batch_max_age_s
        while len(batch) < self._settings.batch_max_messages and not stop.is_set():
            remaining = deadline - time.monotonic()
            try:
                batch.append(
                    self._inbox.get_nowait()
                    if remaining <= 0
                    else self._inbox.get(timeout=remaining)
                )
            except queue.Empty:
                break
        return batch

    def _drain(self, stop: threading.Event) -> None:
        # On a clean stop, store and acknowledge what already arrived (the broker would resend it
        # anyway; this only saves the round trip). Bounded: at most one inbox-full.
        batch: list[Inbound] = []
        while True:
            try:
                batch.append(self._inbox.get_nowait())
            except queue.Empty:
                break
        for start in range(0, len(batch), self._settings.batch_max_messages):
            self._process(batch[start : start + self._settings.batch_max_messages], stop)

    def _process(self, batch: list[Inbound], stop: threading.Event) -> None:
        started = time.perf_counter()
        # Received but not acknowledged: what waits in the inbox plus this batch.
        metrics.UNDELIVERED.set(self._inbox.qsize() + len(batch))
        metrics.RECEIVED.inc(len(batch))
        self.messages_received += len(batch)
        context = self._current_context(stop)
        if context is None:
            return  # stopping while the database is down: the broker redelivers
        try:
            self._store_batch(batch, context, stop)
        except _Stopping:
            return  # not acknowledged: the broker redelivers after restart
        metrics.UNDELIVERED.set(self._inbox.qsize())
        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)

    def _store_batch(
        self, batch: list[Inbound], context: DecodeContext, stop: threading.Event
    ) -> None:
        """Store the batch; what the crash guard suspects goes alone, before the rest."""
        guard = self._guard or self._load_guard(stop)
        deliveries = guard.sort(delivery(inbound) for inbound in batch)
        for d in deliveries.convicted:
            self._store([Pending(d.inbound, rejected(d.inbound, Rejected(CONVICTED_REASON)))], stop)
        for d in deliveries.suspects:
            logger.warning(
                "storing %s alone: it was in flight when ingest stopped", d.inbound.topic
            )
            self._note_in_flight([d], stop, alone=True)
            self._store([self._pending(d.inbound, context)], stop)
        if deliveries.ordinary or deliveries.suspects:
            self._note_in_flight(deliveries.ordinary, stop, alone=False)
        if deliveries.ordinary:
            self._store([self._pending(d.inbound, context) for d in deliveries.ordinary], stop)

    def _pending(self, inbound: Inbound, context: DecodeContext) -> Pending:
        try:
            message = to_message(inbound, context)
        except Exception as exc:  # decoders never raise on input: a bug, which costs one message
            logger.exception("decoding a message from %s failed", inbound.topic)
            message = rejected(inbound, Rejected(f"it could not be decoded: {_error_text(exc)}"))
        return Pending(inbound, message)

    def _store(
        self, pending: Sequence[Pending], stop: threading.Event, *, retried: bool = False
    ) -> None:
        """Store and acknowledge; isolate what fails for a reason of its own (see the top)."""
        messages = [p.message for p in pending]
        try:
            result = self._patiently(lambda conn: self._writer.write(conn, messages), stop)
        except _Stopping:
            raise
        except Exception as exc:
            self._start_afresh()
            if len(pending) > 1:
                middle = len(pending) // 2
                self._store(pending[:middle], stop, retried=True)
                self._store(pending[middle:], stop, retried=True)
            elif not retried:
                self._store(pending, stop, retried=True)
            else:
                self._give_up_on(pending[0], exc, stop)
            return
        self._acknowledge_all(pending)
        self._after_commit(result)

    def _give_up_on(self, only: Pending, exc: Exception, stop: threading.Event) -> None:
        """`only` failed alone, twice: store it as a reject, or drop it if even that fails."""
        if not isinstance(exc, psycopg.Error):
            logger.error("storing a message from %s failed", only.inbound.topic, exc_info=exc)
        if not only.message.rejects:
            reject = rejected(only.inbound, Rejected(_unstorable_reason(exc)))
            self._store([Pending(only.inbound, reject)], stop)
            return
        # Waiting would hold up everything behind it for good: the log keeps what is known.
        metrics.DROPPED.inc()
        logger.error(
            "dropped a message from %s: not even its reject could be stored (%s); "
            "payload starts %r",
            only.inbound.topic,
            _error_text(exc),
            only.inbound.payload[:PAYLOAD_PREFIX_BYTES],
        )
        self._acknowledge_all([only])

    def _patiently(
        self, action: Callable[[psycopg.Connection[TupleRow]], T], stop: threading.Event
    ) -> T:
        """Run `action` on the connection until it succeeds, waiting out outages and store
        faults with capped backoff; raise what is neither, or _Stopping when asked to stop."""
        backoff = self._backoff()
        while True:
            try:
                return action(self._connection())
            except Exception as exc:
                wait_s = backoff.next()
                if is_transient(exc):
                    logger.warning("database unavailable (%s); retrying in %.1f s", exc, wait_s)
                elif is_store_fault(exc):
                    logger.error(
                        "the store refuses ingest's writes (%s): its schema or permissions need "
                        "fixing; retrying in %.1f s",
                        exc,
                        wait_s,
                    )
                else:
                    raise
                self._close()
                metrics.WRITE_RETRIES.inc()
                if stop.wait(wait_s):
                    raise _Stopping from exc

    def _backoff(self) -> Backoff:
        cap_s = self._settings.retry_max_backoff_s
        return Backoff(cap_s, first_s=min(_INITIAL_BACKOFF_S, cap_s))

    def _start_afresh(self) -> None:
        # A failed write may leave the connection mid-COPY, or have met a stale registry cache
        # (a device deleted meanwhile): the next try starts from a new connection and an empty
        # cache, so what fails again alone fails for a reason of its own.
        self._close()
        self._writer = self._new_writer()

    def _new_writer(self) -> BatchWriter:
        return BatchWriter(max_series_per_device=self._settings.max_series_per_device)

    def _load_guard(self, stop: threading.Event) -> CrashGuard:
        last = self._patiently(lambda conn: in_flight.load(conn, self._worker), stop)
        if last.alone:
            logger.warning(
                "a message was in flight alone when this worker (%s) last stopped, after it was "
                "in flight at a stop before: it is rejected if it comes again",
                self._worker,
            )
        elif last.fingerprints:
            logger.warning(
                "%d message(s) were in flight when this worker (%s) last stopped: each is stored "
                "alone if it comes again",
                len(last.fingerprints),
                self._worker,
            )
        self._guard = CrashGuard(last)
        return self._guard

    def _note_in_flight(
        self, deliveries: Sequence[Delivery], stop: threading.Event, *, alone: bool
    ) -> None:
        fingerprints = [d.fingerprint for d in deliveries]
        self._patiently(
            lambda conn: in_flight.record(conn, self._worker, fingerprints, alone), stop
        )

    def _forget_in_flight(self) -> None:
        # A clean stop leaves no suspicion: what the broker redelivers is ordinary.
        if self._guard is None:
            return  # never recorded anything
        try:
            in_flight.clear(self._connection(), self._worker)
        except psycopg.Error as exc:
            logger.warning("could not clear the in-flight record (%s)", exc)

    def _acknowledge_all(self, pending: Sequence[Pending]) -> None:
        for p in pending:
            if not self._acknowledge(p.inbound):
                metrics.ACKS_DROPPED.inc()

    def _after_commit(self, result: WriteResult) -> None:
        metrics.READINGS_STORED.inc(result.readings_stored)
        self.readings_stored += result.readings_stored
        metrics.EVENTS_STORED.inc(result.events_stored)
        metrics.READINGS_OVER_SERIES_LIMIT.inc(result.readings_over_series_limit)
        metrics.CONFLICTING_DUPLICATES.inc(result.conflicting_duplicates)
        if self._on_committed is None:
            return
        try:
            self._on_committed()
        except Exception:
            # The data is stored and acknowledged; a consumer's failure must not stop ingest.
            logger.exception("the commit hand-off failed")

    def _current_context(self, stop: threading.Event) -> DecodeContext | None:
        stale = time.monotonic() - self._context_loaded_at > self._context_refresh_s
        if self._context is not None and not stale:
            return self._context
        backoff = self._backoff()
        while not stop.is_set():
            try:
                self._context = self._decode_context(self._connection())
                self._context_loaded_at = time.monotonic()
                return self._context
            except Exception as exc:
                if not (is_transient(exc) or is_store_fault(exc)):
                    raise
                self._close()
                if self._context is not None:
                    return self._context  # a slightly stale alias map beats waiting
                wait_s = backoff.next()
                logger.warning("database unavailable (%s); retrying in %.1f s", exc, wait_s)
                stop.wait(wait_s)
        return self._context

    def _connection(self) -> psycopg.Connection[TupleRow]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self._database_url, application_name="courtyard-ingest", connect_timeout=10
            )
        return self._conn

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None


def _unstorable_reason(exc: Exception) -> str:
    if isinstance(exc, psycopg.Error):
        return f"the database refused it: {_error_text(exc, with_type=False)}"
    return f"it could not be stored: {_error_text(exc)}"


def _error_text(exc: Exception, *, with_type: bool = True) -> str:
    text = str(exc).strip()
    if with_type:
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= _SHOWN_ERROR_CHARS else text[: _SHOWN_ERROR_CHARS - 1] + "…"
