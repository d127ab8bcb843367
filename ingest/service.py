"""IngestService: wires subscriber -> inbox -> batcher (decode, write, commit, ack) -> hand-off.

Threads: paho's network thread (callbacks enqueue only), one writer thread,
`courtyard-ingest-writer`, and store maintenance's scheduler (ingest/maintenance.py).
`run(settings)` is `courtyard ingest`: it blocks until SIGTERM/SIGINT.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
from types import FrameType

import psycopg
from prometheus_client import start_http_server
from psycopg.rows import TupleRow

from ingest import wire
from ingest.batcher import Batcher, OnCommitted
from ingest.decoders.result import DecodeContext
from ingest.inbound import Inbound
from ingest.json_bounds import JsonLimits
from ingest.maintenance import StoreMaintenance
from ingest.settings import IngestSettings
from ingest.subscriber import Subscriber
from store.devices.aliases import load_aliases
from store.settings import StoreSettings

logger = logging.getLogger(__name__)


class IngestService:
    def __init__(
        self,
        settings: IngestSettings,
        store: StoreSettings,
        on_committed: OnCommitted | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._inbox: queue.Queue[Inbound] = queue.Queue(maxsize=settings.max_undelivered)
        filters = [wire.SUBSCRIPTION, *(f"{base}/#" for base in settings.zigbee2mqtt_bases)]
        self.subscriber = Subscriber(settings, self._inbox, filters)
        self._batcher = Batcher(
            self._inbox,
            settings=settings,
            database_url=store.url,
            acknowledge=self.subscriber.ack,
            decode_context=self._decode_context,
            on_committed=on_committed,
        )
        self._stop = threading.Event()
        self._writer = threading.Thread(
            target=self._run_writer, name="courtyard-ingest-writer", daemon=True
        )
        self._maintenance = StoreMaintenance(store)
        self.failed: BaseException | None = None

    def start(self) -> None:
        self._writer.start()
        self._maintenance.start()
        self.subscriber.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        self._writer.join(timeout_s)
        self.subscriber.stop()
        self._maintenance.stop()
        logger.info(
            "ingest stopped: %d messages received, %d readings stored",
            self._batcher.messages_received,
            self._batcher.readings_stored,
        )

    def _run_writer(self) -> None:
        try:
            self._batcher.run(self._stop)
        except BaseException as exc:
            self.failed = exc
            logger.exception("ingest writer stopped on an error it cannot handle")
            self._stop.set()

    def _decode_context(self, conn: psycopg.Connection[TupleRow]) -> DecodeContext:
        with conn.transaction():
            aliases = load_aliases(conn)
        return DecodeContext(
            zigbee2mqtt_bases=self._settings.zigbee2mqtt_bases,
            aliases=aliases,
            max_payload_bytes=self._settings.max_payload_bytes,
            json_limits=JsonLimits(
                max_depth=self._settings.max_json_depth,
                max_string_chars=self._settings.max_json_string_chars,
                max_items=self._settings.max_json_items,
            ),
            future_tolerance_s=self._settings.future_tolerance_s,
            retention_days=self._store.retention_days,
        )


def run(settings: IngestSettings, store: StoreSettings) -> int:
    """`courtyard ingest`: run until SIGTERM or SIGINT; returns the exit status."""
    service = IngestService(settings, store)
    stopping = threading.Event()
    if settings.metrics_port is not None:
        start_http_server(settings.metrics_port, addr=settings.metrics_host)
        logger.info("metrics on http://%s:%d/metrics", settings.metrics_host, settings.metrics_port)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("received signal %d; stopping", signum)
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    service.start()
    logger.info("ingest running as %s", settings.client_id)
    while not stopping.wait(0.5):
        if service.failed is not None:
            break
    service.stop()
    return 1 if service.failed is not None else 0
