"""The writer process of `courtyard ingest`: decodes, writes, commits; reports what to acknowledge.

Started by ingest/worker.py (`python -c ENTRY <chunks fd> <reports fd>`) with two pipes. From the
receiving process it reads a pickled WriterSetup, then chunks, one pickled `(received_at, rows)`
each, a row being `(topic bytes, payload, mid, qos, dup, generation)`, and `None` to stop. To it,
it writes reports: `("acks", [(mid, qos, generation), ...])` after each commit, and every half
second (and last) `("tally", metric families, (messages received, readings stored))`.

Threads: the main thread reads chunks into an unbounded queue (the receiving process bounds what
is in flight), the Batcher's writer thread, and the store maintenance thread. It dies with its
parent (PR_SET_PDEATHSIG on Linux; elsewhere, the end of its input) and ignores SIGINT and
SIGTERM: the parent decides when to stop, so a terminal's Ctrl-C or a whole-group SIGTERM still
drains in order.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import os
import pickle
import queue
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection

from ingest import metrics
from ingest.batcher import Batcher
from ingest.context import load_decode_context
from ingest.inbound import Inbound, topic_text
from ingest.maintenance import maintain_until
from ingest.settings import IngestSettings
from store.settings import StoreSettings

logger = logging.getLogger(__name__)

#: What ingest/worker.py runs with `python -c`, followed by the two pipes' descriptors.
ENTRY = "from ingest.writer_process import main; main()"
_PR_SET_PDEATHSIG = 1
_TALLY_EVERY_S = 0.5
_POLL_S = 0.25

#: A forwarded message: raw topic, payload, mid, qos, dup, generation.
Row = tuple[bytes, bytes, int, int, bool, int]


@dataclass(frozen=True)
class WriterSetup:
    settings: IngestSettings
    store: StoreSettings
    parent_pid: int
    log_level: int
    #: The parent's log format, so both processes write the same lines to the same stream.
    log_formatter: logging.Formatter | None


def main() -> None:
    """Process body: exits 0 after a clean stop, 1 when writing failed."""
    parent_pid = os.getppid()
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    chunks = Connection(int(sys.argv[1]), writable=False)
    reports = Connection(int(sys.argv[2]), readable=False)
    try:
        setup: WriterSetup = pickle.loads(chunks.recv_bytes())
    except EOFError:
        sys.exit(1)  # the parent died before it told us anything
    if setup.parent_pid != parent_pid or os.getppid() != parent_pid:
        sys.exit(1)  # the parent died before PR_SET_PDEATHSIG: nobody would acknowledge
    _configure_logging(setup)
    sys.exit(WriterProcess(setup, chunks, reports).run())


def _configure_logging(setup: WriterSetup) -> None:
    handler = logging.StreamHandler()
    if setup.log_formatter is not None:
        handler.setFormatter(setup.log_formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(setup.log_level)


class WriterProcess:
    def __init__(self, setup: WriterSetup, chunks: Connection, reports: Connection) -> None:
        self._chunks = chunks
        self._reports = reports
        self._send_lock = threading.Lock()  # the writer thread and the main thread both report
        self._inbox: queue.Queue[Inbound] = queue.Queue()
        self._stop = threading.Event()
        self._batcher = Batcher(
            self._inbox,
            settings=setup.settings,
            database_url=setup.store.url,
            acknowledge=self._acknowledge,
            decode_context=functools.partial(load_decode_context, setup.settings, setup.store),
        )
        self._writer = threading.Thread(target=self._write, name="courtyard-ingest-writer")
        self._pruner = threading.Thread(
            target=maintain_until,
            args=(self._stop, setup.store),
            name="courtyard-ingest-maintenance",
        )
        self._pruner.daemon = True
        self._failed = False

    def run(self) -> int:
        self._writer.start()
        self._pruner.start()
        try:
            self._read()
        finally:
            self._stop.set()
            self._writer.join()
        with contextlib.suppress(OSError):  # the receiving process is gone: nobody to tell
            self._tally()
        return 1 if self._failed else 0

    def _read(self) -> None:
        tallied = time.monotonic()
        while not self._stop.is_set():
            if time.monotonic() - tallied >= _TALLY_EVERY_S:
                self._tally()
                tallied = time.monotonic()
            if not self._chunks.poll(_POLL_S):
                continue
            try:
                chunk: tuple[float, list[Row]] | None = pickle.loads(self._chunks.recv_bytes())
            except EOFError:
                logger.warning("the receiving process is gone; stopping")
                return
            if chunk is None:
                return
            stamp, rows = chunk
            received_at = datetime.fromtimestamp(stamp, UTC)
            put = self._inbox.put
            for topic, payload, mid, qos, dup, generation in rows:
                put(Inbound(topic_text(topic), payload, received_at, mid, qos, dup, generation))

    def _write(self) -> None:
        try:
            self._batcher.run(self._stop)
        except BaseException:
            self._failed = True
            logger.exception("ingest writer stopped on an error it cannot handle")
            self._stop.set()

    def _acknowledge(self, stored: Sequence[Inbound]) -> int:
        # The receiving process acknowledges and counts what it could not (ACKS_DROPPED).
        self._send(("acks", [(m.mid, m.qos, m.generation) for m in stored]))
        return 0

    def _tally(self) -> None:
        totals = (self._batcher.messages_received, self._batcher.readings_stored)
        self._send(("tally", metrics.writer_snapshot(), totals))

    def _send(self, report: object) -> None:
        data = pickle.dumps(report, protocol=pickle.HIGHEST_PROTOCOL)
        with self._send_lock:
            self._reports.send_bytes(data)
