"""Inbox: the in-process hand-over from paho's network thread to the writer thread.

IngestService (in-process: `courtyard up`, tests) uses it; `courtyard ingest` splits the two
sides between processes instead (ingest/worker.py).
"""

from __future__ import annotations

import queue
import threading
from datetime import UTC, datetime

import paho.mqtt.client as mqtt

from ingest import metrics
from ingest.inbound import Inbound, topic_text


class Inbox:
    def __init__(self, max_undelivered: int) -> None:
        self.queue: queue.Queue[Inbound] = queue.Queue(maxsize=max_undelivered)
        self._closed = threading.Event()

    def receive(self, msg: mqtt.MQTTMessage, generation: int) -> None:
        """Subscriber's `receive`, on paho's network thread: enqueue, waiting for room."""
        inbound = Inbound(
            topic=topic_text(msg._topic),
            payload=bytes(msg.payload),
            received_at=datetime.now(UTC),
            mid=msg.mid,
            qos=msg.qos,
            dup=bool(msg.dup),
            generation=generation,
        )
        try:
            self.queue.put_nowait(inbound)
        except queue.Full:
            metrics.INBOX_FULL.inc()
            self._wait_for_room(inbound)

    def close(self) -> None:
        """Free the network thread if it waits for room the stopped writer will never make."""
        self._closed.set()

    def _wait_for_room(self, inbound: Inbound) -> None:
        # Receive Maximum alone does not bound us: Mosquitto 2.0.11 honours it until the
        # first acknowledgements, then releases a whole window per PUBACK (measured). So the
        # bound is this wait: paho stops reading the socket, TCP pushes back on the broker.
        # The writer empties the inbox independently, and acks queued meanwhile are sent
        # when this returns; in a database outage the broker may drop the connection for
        # want of pings, and redelivers what was not acknowledged.
        while not self._closed.is_set():
            try:
                self.queue.put(inbound, timeout=0.5)
                return
            except queue.Full:
                continue
        # Stopping with a full inbox: dropped unacknowledged, so the broker redelivers it.
