"""Publisher: a paho client for tests that publishes QoS 1 and waits until the broker has it all."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable
from types import TracebackType

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from ingest.subscriber import parse_broker_url


class Publisher:
    """Publishes with a persistent session, so un-acknowledged messages survive a broker restart.

    paho resends in-flight QoS 1 messages after it reconnects; `flush` waits for every PUBACK
    (tracked through on_publish: paho's own wait fails a message published while disconnected
    even though it sends it after the reconnect). Flush at least every 60,000 messages, before
    message ids wrap around.
    """

    def __init__(self, url: str, client_id: str | None = None, max_inflight: int = 1000) -> None:
        address = parse_broker_url(url)
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id or f"test-pub-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv311,
            clean_session=False,
        )
        self._client.max_inflight_messages_set(max_inflight)
        self._client.max_queued_messages_set(0)
        self._client.reconnect_delay_set(0.1, 1)
        self._connected = threading.Event()
        self._client.on_connect = lambda *args: self._connected.set()
        self._client.on_disconnect = lambda *args: self._connected.clear()
        self._client.on_publish = self._on_publish
        self._acked: set[int] = set()
        self._acked_lock = threading.Lock()
        self._client.connect(address.host, address.port, keepalive=30)
        self._client.loop_start()
        if not self._connected.wait(10):
            raise AssertionError(f"could not connect to {url}")
        self._pending: list[int] = []

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> None:
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if qos > 0:
            self._pending.append(info.mid)

    def publish_all(self, messages: Iterable[tuple[str, bytes | str]], qos: int = 1) -> None:
        for topic, payload in messages:
            self.publish(topic, payload, qos)

    def flush(self, timeout_s: float = 60.0) -> None:
        """Wait until the broker acknowledged everything published so far."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._acked_lock:
                missing = [mid for mid in self._pending if mid not in self._acked]
            if not missing:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(missing)} messages not acknowledged in {timeout_s} s")
            time.sleep(0.05)
        with self._acked_lock:
            self._acked.clear()
        self._pending.clear()

    def _on_publish(self, client: mqtt.Client, userdata: object, mid: int, *args: object) -> None:
        with self._acked_lock:
            self._acked.add(mid)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
