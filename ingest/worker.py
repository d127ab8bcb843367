"""`courtyard ingest`: one process receives and acknowledges, a child process writes.

Threads of one process share one GIL: in-process, decoding and writing slowed paho's network
thread to a third of a bare subscriber's pace (issue 2). So this process only does MQTT:
- paho's network thread appends each message to a deque, waiting while max_undelivered messages
  are received but not yet acknowledged (paho then stops reading and TCP pushes back);
- the pump thread forwards the deque every few milliseconds to the writer process as one pickled
  chunk (ingest/writer_process.py), reads its reports, and acknowledges the messages of each
  committed batch on the connection that delivered them (Subscriber.ack_all).
The writer process runs the same Batcher as IngestService: acknowledgement still strictly follows
the commit. It dies with this process (a SIGKILL here leaves nothing running; the broker
redelivers, writes are idempotent); if it dies, this process exits non-zero. Its counters are
served by this process's /metrics from the snapshots it sends (metrics.Relayed).
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from multiprocessing.connection import Connection, wait
from types import FrameType

import paho.mqtt.client as mqtt
from prometheus_client import start_http_server

from ingest import metrics, writer_process
from ingest.settings import IngestSettings
from ingest.subscriber import Ack, Subscriber, topic_filters
from ingest.writer_process import Row, WriterSetup
from store.settings import StoreSettings

logger = logging.getLogger(__name__)

#: How long a received message may wait to be forwarded: the chunking interval.
_FORWARD_EVERY_S = 0.005
_STOP_TIMEOUT_S = 30.0


class WriterGone(RuntimeError):
    pass


class SplitWorker:
    def __init__(self, settings: IngestSettings, store: StoreSettings) -> None:
        self._limit = settings.max_undelivered
        root = logging.getLogger()
        self._setup = WriterSetup(
            settings=settings,
            store=store,
            parent_pid=os.getpid(),
            log_level=root.level,
            log_formatter=root.handlers[0].formatter if root.handlers else None,
        )
        self._writer: subprocess.Popen[bytes] | None = None
        self._chunks: Connection | None = None
        self._reports: Connection | None = None
        self.subscriber = Subscriber(settings, topic_filters(settings), self._receive)
        self._pump = threading.Thread(target=self._run_pump, name="courtyard-ingest-pump")
        self._pending: deque[Row] = deque()
        # Each written by one thread only (paho's, the pump's): no lock on the hot path.
        self._received = 0
        self._released = 0
        self._room = threading.Event()
        self._open = True
        self._stopping = False
        self.relayed = metrics.Relayed()
        self.failed: BaseException | None = None
        self.messages_received = 0
        self.readings_stored = 0

    def start(self) -> None:
        self._start_writer()
        self._pump.start()
        self.subscriber.start()

    def _start_writer(self) -> None:
        # From the main thread: PR_SET_PDEATHSIG fires when the thread that started the child
        # ends, and the main thread lasts as long as the process.
        chunks_in, chunks_out = os.pipe()
        reports_in, reports_out = os.pipe()
        self._writer = subprocess.Popen(
            [sys.executable, "-c", writer_process.ENTRY, str(chunks_in), str(reports_out)],
            pass_fds=(chunks_in, reports_out),
        )
        # Only the child holds its ends now: its exit is the pump's EOF, ours its EOF.
        os.close(chunks_in)
        os.close(reports_out)
        self._chunks = Connection(chunks_out, readable=False)
        self._reports = Connection(reports_in, writable=False)
        self._chunks.send_bytes(pickle.dumps(self._setup, protocol=pickle.HIGHEST_PROTOCOL))

    def stop(self) -> None:
        """Forward what arrived, let the writer commit it, acknowledge, then disconnect."""
        self._stopping = True  # before _open: the writer's exit is expected from now on
        self._open = False
        self._room.set()
        self._pump.join(_STOP_TIMEOUT_S)
        writer = self._writer
        assert writer is not None, "stopped before it started"
        if self._pump.is_alive():
            logger.error("the writer process did not stop in %.0f s; killing it", _STOP_TIMEOUT_S)
            writer.kill()
            self._pump.join(5)
        self.subscriber.stop()
        try:
            writer.wait(5)
        except subprocess.TimeoutExpired:
            writer.kill()
            writer.wait()
        if writer.returncode and self.failed is None:
            self.failed = WriterGone(f"the writer process exited with {writer.returncode}")
        logger.info(
            "ingest stopped: %d messages received, %d readings stored",
            self.messages_received,
            self.readings_stored,
        )

    def _receive(self, msg: mqtt.MQTTMessage, generation: int) -> None:
        """Subscriber's `receive`, on paho's network thread: keep only what it takes to forward."""
        if self._received - self._released >= self._limit and not self._wait_for_room():
            return  # stopping: dropped unacknowledged, so the broker redelivers it
        if self._open:
            self._pending.append(
                (msg._topic, bytes(msg.payload), msg.mid, msg.qos, msg.dup, generation)
            )
            self._received += 1

    def _wait_for_room(self) -> bool:
        # Receive Maximum alone does not bound us: Mosquitto 2.0.11 honours it until the first
        # acknowledgements, then releases a whole window per PUBACK (measured). Acks queued
        # meanwhile are sent when this returns; in a database outage the broker may drop the
        # connection for want of pings, and redelivers what was not acknowledged.
        metrics.INBOX_FULL.inc()
        while self._open:
            self._room.clear()
            if self._received - self._released < self._limit:
                return True
            self._room.wait(0.5)
        return False

    def _run_pump(self) -> None:
        try:
            self._pump_until_the_writer_ends()
        except (EOFError, OSError) as exc:
            if not self._stopping:
                self.failed = WriterGone(f"the writer process is gone ({exc!r})")
                logger.error("the writer process ended unexpectedly; stopping")
        except BaseException as exc:
            self.failed = exc
            logger.exception("ingest pump stopped on an error it cannot handle")

    def _pump_until_the_writer_ends(self) -> None:
        """Returns only by EOFError (the writer exited) or OSError (its pipe broke)."""
        assert self._reports is not None and self._chunks is not None
        stop_sent = False
        while True:
            for _ in wait([self._reports], _FORWARD_EVERY_S):
                self._handle(pickle.loads(self._reports.recv_bytes()))
            if stop_sent:
                continue  # until EOF: the writer's last reports, then its exit
            self._forward()
            if not self._open:
                self._forward()  # what paho's thread appended meanwhile
                self._chunks.send_bytes(pickle.dumps(None))
                stop_sent = True

    def _forward(self) -> None:
        pending = self._pending
        count = len(pending)
        if count and self._chunks is not None:
            rows = [pending.popleft() for _ in range(count)]
            data = pickle.dumps((time.time(), rows), protocol=pickle.HIGHEST_PROTOCOL)
            self._chunks.send_bytes(data)

    def _handle(self, report: tuple[object, ...]) -> None:
        if report[0] == "acks":
            acks: list[Ack] = report[1]  # type: ignore[assignment]
            dropped = self.subscriber.ack_all(acks)
            self._released += len(acks)
            self._room.set()
            if dropped:
                metrics.ACKS_DROPPED.inc(dropped)
            metrics.UNDELIVERED.set(self._received - self._released)
        else:
            _, families, totals = report
            self.relayed.update(families)  # type: ignore[arg-type]
            self.messages_received, self.readings_stored = totals  # type: ignore[misc]


def run(settings: IngestSettings, store: StoreSettings) -> int:
    """`courtyard ingest`: run until SIGTERM or SIGINT; returns the exit status."""
    worker = SplitWorker(settings, store)
    stopping = threading.Event()
    if settings.metrics_port is not None:
        worker.relayed.install()
        start_http_server(settings.metrics_port, addr=settings.metrics_host)
        logger.info("metrics on http://%s:%d/metrics", settings.metrics_host, settings.metrics_port)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("received signal %d; stopping", signum)
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    worker.start()
    logger.info("ingest running as %s", settings.client_id)
    try:
        while not stopping.wait(0.5):
            if worker.failed is not None:
                break
    finally:
        worker.stop()
    return 1 if worker.failed is not None else 0
