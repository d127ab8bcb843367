"""Subscriber: the paho client of an ingest worker; its callbacks only enqueue Inbound messages.

Persistent session (fixed client id, clean start off, long session expiry) and manual
acknowledgement: the broker redelivers whatever this worker received but did not acknowledge,
after a crash or a lost connection. MQTT 5 Receive Maximum is set to the inbox size, which keeps
a well-behaved broker within it; `_on_message` says what bounds memory when a broker is not.

Threads: paho's network thread runs the callbacks; `ack` is called from the writer thread.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from ingest import metrics
from ingest.inbound import Inbound
from ingest.settings import IngestSettings

logger = logging.getLogger(__name__)

# How long the broker keeps our session (and the messages queued for it) while we are away.
_SESSION_EXPIRY_S = 7 * 24 * 3600
_UNSUPPORTED_PROTOCOL = 132  # CONNACK reason code "Unsupported Protocol Version"
_V311_UNACCEPTABLE_PROTOCOL = 1  # MQTT 3.1.1 CONNACK return code


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool


def parse_broker_url(url: str) -> BrokerAddress:
    """mqtt://user:password@host:port (mqtts:// for TLS; default ports 1883 and 8883)."""
    parts = urlsplit(url)
    tls = parts.scheme == "mqtts"
    return BrokerAddress(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or (8883 if tls else 1883),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
    )


def shared(topic_filter: str, group: str) -> str:
    return f"$share/{group}/{topic_filter}" if group else topic_filter


class Subscriber:
    def __init__(
        self,
        settings: IngestSettings,
        inbox: queue.Queue[Inbound],
        topic_filters: Sequence[str],
    ) -> None:
        self._settings = settings
        self._inbox = inbox
        self._filters = [shared(f, settings.share_group) for f in topic_filters]
        self._address = parse_broker_url(settings.mqtt_url)
        self._protocol = mqtt.MQTTv311 if settings.protocol == "3.1.1" else mqtt.MQTTv5
        self._generation = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self._client = self._make_client()

    def start(self) -> None:
        self._connect()
        self._client.loop_start()

    def stop(self) -> None:
        self._stopping.set()  # frees the network thread if it waits for room in the inbox
        self._client.disconnect()
        self._client.loop_stop()
        self.connected.clear()

    def ack(self, message: Inbound) -> bool:
        """Acknowledge a stored message; False when its connection is gone (the broker resends).

        A message id names a message only on the connection that delivered it: after a
        reconnect the same number may belong to another message, so acking it would lose data.
        """
        if message.qos == 0:
            return True
        with self._lock:
            if message.generation != self._generation or not self.connected.is_set():
                return False
            return self._client.ack(message.mid, message.qos) == mqtt.MQTT_ERR_SUCCESS

    def _make_client(self) -> mqtt.Client:
        v5 = self._protocol == mqtt.MQTTv5
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self._settings.client_id,
            protocol=self._protocol,
            clean_session=None if v5 else False,
            manual_ack=True,
        )
        if self._address.username is not None:
            client.username_pw_set(self._address.username, self._address.password)
        if self._address.tls:
            client.tls_set()
        # paho's loop thread reconnects for as long as it takes; waits capped at 2 s mean the
        # worker is back within seconds of the broker's return, however long it was away.
        client.reconnect_delay_set(min_delay=1, max_delay=2)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client

    def _connect(self) -> None:
        properties = None
        # MQTT 3.1.1 takes clean_session=False from the client constructor instead.
        clean_start: bool | Literal[3] = mqtt.MQTT_CLEAN_START_FIRST_ONLY
        if self._protocol == mqtt.MQTTv5:
            clean_start = False
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = _SESSION_EXPIRY_S
            properties.ReceiveMaximum = self._settings.max_undelivered
        self._client.connect_async(
            self._address.host,
            self._address.port,
            keepalive=self._settings.keepalive_s,
            clean_start=clean_start,
            properties=properties,
        )

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            if (
                self._protocol == mqtt.MQTTv5
                and self._settings.protocol == "auto"
                and (reason.value in (_UNSUPPORTED_PROTOCOL, _V311_UNACCEPTABLE_PROTOCOL))
            ):
                # Runs on paho's thread: hand the switch to a short-lived thread of its own.
                threading.Thread(target=self._fall_back_to_v311, daemon=True).start()
                return
            logger.error("broker refused the connection: %s", reason)
            return
        with self._lock:
            self._generation += 1
        logger.info(
            "connected to %s:%s (session present: %s)",
            self._address.host,
            self._address.port,
            flags.session_present,
        )
        options = SubscribeOptions(qos=1)
        if self._protocol == mqtt.MQTTv5:
            client.subscribe([(f, options) for f in self._filters])
        else:
            client.subscribe([(f, 1) for f in self._filters])
        self.connected.set()

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reasons: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        refused = [str(r) for r in reasons if r.is_failure]
        if refused:
            logger.error("subscription refused for %s: %s", self._filters, ", ".join(refused))
        else:
            logger.info("subscribed to %s", ", ".join(self._filters))
            self.subscribed.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self.connected.clear()
        self.subscribed.clear()
        if reason.is_failure:
            logger.warning("lost the broker connection (%s); reconnecting", reason)

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        try:
            topic = msg.topic
        except UnicodeDecodeError:
            topic = msg._topic.decode("utf-8", "replace")  # brokers should refuse these
        inbound = Inbound(
            topic=topic,
            payload=bytes(msg.payload),
            received_at=datetime.now(UTC),
            mid=msg.mid,
            qos=msg.qos,
            dup=bool(msg.dup),
            generation=self._generation,
        )
        try:
            self._inbox.put_nowait(inbound)
        except queue.Full:
            metrics.INBOX_FULL.inc()
            self._wait_for_room(inbound)

    def _wait_for_room(self, inbound: Inbound) -> None:
        # Receive Maximum alone does not bound us: Mosquitto 2.0.11 honours it until the
        # first acknowledgements, then releases a whole window per PUBACK (measured). So the
        # bound is this wait: paho stops reading the socket, TCP pushes back on the broker.
        # The writer empties the inbox independently, and acks queued meanwhile are sent
        # when this returns; in a database outage the broker may drop the connection for
        # want of pings, and redelivers what was not acknowledged.
        while not self._stopping.is_set():
            try:
                self._inbox.put(inbound, timeout=0.5)
                return
            except queue.Full:
                continue
        # Stopping with a full inbox: dropped unacknowledged, so the broker redelivers it.

    def _fall_back_to_v311(self) -> None:
        logger.warning("broker does not speak MQTT 5; falling back to MQTT 3.1.1")
        self._client.loop_stop()
        self._protocol = mqtt.MQTTv311
        self._client = self._make_client()
        self.start()
