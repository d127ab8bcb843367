"""Batcher: the writer thread. Batches the inbox by count and age, writes, commits, then acks.

Acknowledgement strictly follows the commit, so what the broker forgets is always stored:
- a transient database error (connection lost, server restarting) retries the same batch with
  capped exponential backoff; nothing is acknowledged meanwhile, and the bounded inbox plus MQTT 5
  Receive Maximum keep memory flat however long the outage lasts;
- a data error (a value the database refuses) splits the batch in halves until the offending
  message is alone, and that message is stored as a reject; the rest is stored normally;
- any other error (schema missing, permission denied) is the deployment's fault: it propagates,
  the worker stops, nothing is acknowledged and the broker redelivers after the fix.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import psycopg
from psycopg.rows import TupleRow

from ingest import metrics
from ingest.decoders.result import DecodeContext, Rejected
from ingest.inbound import Inbound
from ingest.intake import rejected, to_message
from ingest.settings import IngestSettings
from store.errors import is_data_error, is_transient
from store.records import CommittedBatch, Message
from store.writer import BatchWriter, WriteResult

logger = logging.getLogger(__name__)

Acknowledge = Callable[[Inbound], bool]
OnCommitted = Callable[[CommittedBatch], None]
ContextSource = Callable[[psycopg.Connection[TupleRow]], DecodeContext]

_INITIAL_BACKOFF_S = 0.1


@dataclass(frozen=True, slots=True)
class Pending:
    inbound: Inbound
    message: Message


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
        self._writer = BatchWriter(max_series_per_device=settings.max_series_per_device)
        self._conn: psycopg.Connection[TupleRow] | None = None
        self._context: DecodeContext | None = None
        self._context_loaded_at = 0.0
        self._batch_id = 0
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
        pending = [Pending(inbound, to_message(inbound, context)) for inbound in batch]
        self._store(pending, stop)
        metrics.UNDELIVERED.set(self._inbox.qsize())
        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)

    def _store(self, pending: Sequence[Pending], stop: threading.Event) -> None:
        backoff = _INITIAL_BACKOFF_S
        while True:
            try:
                result = self._writer.write(self._connection(), [p.message for p in pending])
            except Exception as exc:
                if is_transient(exc):
                    self._close()
                    metrics.WRITE_RETRIES.inc()
                    logger.warning("database unavailable (%s); retrying in %.1f s", exc, backoff)
                    if stop.wait(backoff):
                        return  # not acknowledged: the broker redelivers after restart
                    backoff = min(backoff * 2, self._settings.retry_max_backoff_s)
                    continue
                if not is_data_error(exc):
                    raise
                self._isolate(pending, exc, stop)
                return
            self._acknowledge_all(pending)
            self._hand_on(result)
            return

    def _isolate(
        self, pending: Sequence[Pending], exc: BaseException, stop: threading.Event
    ) -> None:
        if len(pending) > 1:
            middle = len(pending) // 2
            self._store(pending[:middle], stop)
            self._store(pending[middle:], stop)
            return
        only = pending[0]
        if only.message.rejects:
            raise exc  # even its reject cannot be stored: not a data problem after all
        reason = f"the database refused it: {str(exc).strip()}"
        self._store([Pending(only.inbound, rejected(only.inbound, Rejected(reason)))], stop)

    def _acknowledge_all(self, pending: Sequence[Pending]) -> None:
        for p in pending:
            if not self._acknowledge(p.inbound):
                metrics.ACKS_DROPPED.inc()

    def _hand_on(self, result: WriteResult) -> None:
        metrics.READINGS_STORED.inc(result.readings_stored)
        self.readings_stored += result.readings_stored
        metrics.EVENTS_STORED.inc(len(result.events))
        metrics.READINGS_OVER_SERIES_LIMIT.inc(result.readings_over_series_limit)
        metrics.CONFLICTING_DUPLICATES.inc(result.conflicting_duplicates)
        if self._on_committed is None:
            return
        self._batch_id += 1
        try:
            self._on_committed(
                CommittedBatch(
                    batch_id=self._batch_id,
                    committed_at=result.committed_at,
                    readings=result.readings,
                    events=result.events,
                    statuses=result.status_changes,
                )
            )
        except Exception:
            # The data is stored and acknowledged; a consumer's failure must not stop ingest.
            logger.exception("committed-batch consumer failed")

    def _current_context(self, stop: threading.Event) -> DecodeContext | None:
        stale = time.monotonic() - self._context_loaded_at > self._context_refresh_s
        if self._context is not None and not stale:
            return self._context
        backoff = _INITIAL_BACKOFF_S
        while not stop.is_set():
            try:
                self._context = self._decode_context(self._connection())
                self._context_loaded_at = time.monotonic()
                return self._context
            except Exception as exc:
                if not is_transient(exc):
                    raise
                self._close()
                if self._context is not None:
                    return self._context  # a slightly stale alias map beats waiting
                logger.warning("database unavailable (%s); retrying in %.1f s", exc, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, self._settings.retry_max_backoff_s)
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
