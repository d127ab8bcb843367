"""IngestService: in-process ingest, subscriber -> inbox -> batcher (decode, write, commit, ack).

Threads: paho's network thread (callbacks enqueue only), one writer thread
(`courtyard-ingest-writer`) and the store maintenance thread. `courtyard up` and the tests run
it this way, with `on_committed` handing each committed batch to the rules engine.
`courtyard ingest` (`run`) splits receiving and writing between two processes instead
(ingest/worker.py).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Sequence

from ingest.batcher import Batcher, OnCommitted
from ingest.context import load_decode_context
from ingest.inbound import Inbound
from ingest.inbox import Inbox
from ingest.maintenance import maintain_until
from ingest.settings import IngestSettings
from ingest.subscriber import Subscriber, topic_filters
from store.settings import StoreSettings

logger = logging.getLogger(__name__)


class IngestService:
    def __init__(
        self,
        settings: IngestSettings,
        store: StoreSettings,
        on_committed: OnCommitted | None = None,
    ) -> None:
        self._inbox = Inbox(settings.max_undelivered)
        self.subscriber = Subscriber(settings, topic_filters(settings), self._inbox.receive)
        self._batcher = Batcher(
            self._inbox.queue,
            settings=settings,
            database_url=store.url,
            acknowledge=self._acknowledge,
            decode_context=functools.partial(load_decode_context, settings, store),
            on_committed=on_committed,
        )
        self._stop = threading.Event()
        self._writer = threading.Thread(
            target=self._run_writer, name="courtyard-ingest-writer", daemon=True
        )
        self._pruner = threading.Thread(
            target=maintain_until, args=(self._stop, store), name="courtyard-ingest-maintenance"
        )
        self._pruner.daemon = True
        self.failed: BaseException | None = None

    def start(self) -> None:
        self._writer.start()
        self._pruner.start()
        self.subscriber.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        self._writer.join(timeout_s)
        self._inbox.close()
        self.subscriber.stop()
        logger.info(
            "ingest stopped: %d messages received, %d readings stored",
            self._batcher.messages_received,
            self._batcher.readings_stored,
        )

    def _acknowledge(self, stored: Sequence[Inbound]) -> int:
        return self.subscriber.ack_all((m.mid, m.qos, m.generation) for m in stored)

    def _run_writer(self) -> None:
        try:
            self._batcher.run(self._stop)
        except BaseException as exc:
            self.failed = exc
            logger.exception("ingest writer stopped on an error it cannot handle")
            self._stop.set()


def run(settings: IngestSettings, store: StoreSettings) -> int:
    """`courtyard ingest`: run until SIGTERM or SIGINT; returns the exit status."""
    from ingest import worker

    return worker.run(settings, store)
