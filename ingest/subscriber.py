"""Subscriber: the paho client of an ingest worker; its callbacks only hand messages on.

Persistent session (fixed client id, clean start off, long session expiry) and manual
acknowledgement: the broker redelivers whatever this worker received but did not acknowledge,
after a crash or a lost connection. MQTT 5 Receive Maximum is set to the inbox size, which keeps
a well-behaved broker within it; the `receive` callback bounds memory when a broker is not
(ingest/inbox.py, ingest/worker.py): it waits for room, so paho stops reading the socket.

Threads: paho's network thread runs the callbacks; `ack_all` is called from the thread that
learns of commits (the writer thread in-process, the pump thread of `courtyard ingest`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from ingest import wire
from ingest.settings import IngestSettings

logger = logging.getLogger(__name__)

# How long the broker keeps our session (and the messages queued for it) while we are away.
_SESSION_EXPIRY_S = 7 * 24 * 3600
_SUCCESS = mqtt.MQTT_ERR_SUCCESS
_UNSUPPORTED_PROTOCOL = 132  # CONNACK reason code "Unsupported Protocol Version"
_V311_UNACCEPTABLE_PROTOCOL = 1  # MQTT 3.1.1 CONNACK return code

#: Called on paho's network thread with each message and the generation of the connection that
#: delivered it; it may block to bound what is held (paho then stops reading the socket).
Receive = Callable[[mqtt.MQTTMessage, int], None]
#: (mid, qos, generation) of a stored message.
Ack = tuple[int, int, int]


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


def topic_filters(settings: IngestSettings) -> list[str]:
    """What a worker subscribes to: the native tree and each Zigbee2MQTT base."""
    return [wire.SUBSCRIPTION, *(f"{base}/#" for base in settings.zigbee2mqtt_bases)]


class Subscriber:
    def __init__(
        self,
        settings: IngestSettings,
        topic_filters: Sequence[str],
        receive: Receive,
    ) -> None:
        self._settings = settings
        self._receive = receive
        self._filters = [shared(f, settings.share_group) for f in topic_filters]
        self._address = parse_broker_url(settings.mqtt_url)
        self._protocol = mqtt.MQTTv311 if settings.protocol == "3.1.1" else mqtt.MQTTv5
        self._generation = 0
        self._lock = threading.Lock()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self._client = self._make_client()

    def start(self) -> None:
        self._connect()
        self._client.loop_start()

    def stop(self) -> None:
        """Disconnect; whoever `receive` waits on must have let it go first."""
        self._client.disconnect()
        self._client.loop_stop()
        self.connected.clear()

    def ack_all(self, acks: Iterable[Ack]) -> int:
        """Acknowledge stored messages; returns how many were not (their connection is gone).

        A message id names a message only on the connection that delivered it: after a
        reconnect the same number may belong to another message, so acking it would lose data.
        The broker resends what was not acknowledged.
        """
        dropped = 0
        with self._lock:
            generation = self._generation if self.connected.is_set() else -1
            for mid, qos, delivered_on in acks:
                if qos == 0:
                    continue
                if delivered_on != generation or self._client.ack(mid, qos) != _SUCCESS:
                    dropped += 1
        return dropped

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
        client.reconnect_delay_set(min_delay=1, max_delay=10)
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
        self._receive(msg, self._generation)

    def _fall_back_to_v311(self) -> None:
        logger.warning("broker does not speak MQTT 5; falling back to MQTT 3.1.1")
        self._client.loop_stop()
        self._protocol = mqtt.MQTTv311
        self._client = self._make_client()
        self.start()
