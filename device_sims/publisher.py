"""MQTT publisher sink: one paho client for the whole community, QoS 1 with a bounded window.

Last wills are per connection and one connection carries every simulated device, so:

* the connection's own will is the retained `offline` status of a gateway-level device
  (`Scenario.gateway`, e.g. `sim-gateway`), the one device whose link really is this connection;
  its `online` is the first message of every run;
* a simulated device's going offline (the dropout fault) is published as exactly what its broker
  would publish from its will: a retained `offline` on its status topic (and `online` when it
  comes back). For Zigbee2MQTT kits it is the bridge's availability message.

"Published" means acknowledged: `close()` waits for the PUBACK of every QoS 1 message and
returns how many were acknowledged; at most `window` messages are unacknowledged at any time.
"""

from __future__ import annotations

import logging
import ssl
import threading
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from device_sims.emissions import Outgoing
from ingest.wire import Channel, Status, encode_status, topic

logger = logging.getLogger(__name__)


class PublishError(RuntimeError):
    """The broker could not be reached, refused us, or did not acknowledge in time."""


class MqttSink:
    def __init__(
        self,
        url: str,
        site: str,
        gateway: str,
        client_id: str = "",
        window: int = 1000,
        connect_timeout_s: float = 10.0,
        ack_timeout_s: float = 60.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise PublishError(f"{url!r} is not an mqtt://user:password@host:port URL")
        self._ack_timeout_s = ack_timeout_s
        self._window = window
        self._cond = threading.Condition()
        self._sent = 0
        self._acked = 0
        self._connected = threading.Event()
        self._refused: str | None = None
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"courtyard-sim-{site}"[:64],
            protocol=mqtt.MQTTv311,
        )
        if parts.username:
            client.username_pw_set(unquote(parts.username), unquote(parts.password or ""))
        if parts.scheme == "mqtts":
            client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        client.max_inflight_messages_set(window)
        client.max_queued_messages_set(0)  # paho's queue is unbounded; `window` bounds it
        will = topic(site, gateway, Channel.STATUS)
        client.will_set(will, encode_status(Status.OFFLINE), qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_publish = self._on_publish
        self._client = client
        try:
            client.connect(
                parts.hostname, parts.port or (8883 if parts.scheme == "mqtts" else 1883)
            )
        except OSError as exc:
            raise PublishError(f"cannot connect to {parts.hostname}:{parts.port}: {exc}") from None
        client.loop_start()
        if not self._connected.wait(connect_timeout_s) or self._refused:
            client.loop_stop()
            raise PublishError(f"broker refused or did not answer: {self._refused or 'timeout'}")

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            self._refused = str(reason)
        self._connected.set()

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._cond:
            self._acked += 1
            self._cond.notify_all()

    def send(self, message: Outgoing) -> None:
        # Only paho's thread raises `_acked` and only this one `_sent`: the lock is needed only
        # to wait when the window is full, not for every message.
        if self._sent - self._acked >= self._window:
            with self._cond:
                ok = self._cond.wait_for(
                    lambda: self._sent - self._acked < self._window, self._ack_timeout_s
                )
            if not ok:
                raise PublishError(f"no PUBACK for {self._ack_timeout_s} s")
        self._sent += 1
        self._client.publish(message.topic, message.payload, message.qos, message.retain)

    def close(self) -> int:
        """Wait for every acknowledgement, disconnect cleanly (no will), return the acked count."""
        with self._cond:
            self._cond.wait_for(lambda: self._acked >= self._sent, self._ack_timeout_s)
            acked = self._acked
        if acked < self._sent:
            logger.warning(
                "%s of %s messages unacknowledged at close", self._sent - acked, self._sent
            )
        self._client.disconnect()
        self._client.loop_stop()
        return acked
