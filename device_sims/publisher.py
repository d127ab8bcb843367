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

Threading: none. paho's network loop is driven from the calling thread (`send`, `idle`,
`close`) instead of `loop_start()`'s thread. With a loop thread every message crosses threads
twice (publish → loop thread writes; loop thread reads the PUBACK → wakes the publisher) and the
two threads fight over the GIL; driven in line, the same client publishes over twice as fast
(bench/sim_rate.py). The cost: the connection is only serviced while the caller is inside this
object, so callers that pause must pause through `idle()` (the runner and
`SimulatedClock(sleep=sink.idle)` do).
"""

from __future__ import annotations

import itertools
import logging
import select
import ssl
import time
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from device_sims.emissions import Outgoing
from ingest.wire import Channel, Status, encode_status, topic

logger = logging.getLogger(__name__)

#: Read acknowledgements every this many messages even when the window has room: keeps the
#: acked count (and the broker's view of us) current for a few microseconds per message.
_SERVICE_EVERY = 256
#: How often keepalive bookkeeping runs (paho's `loop_misc`); far below any keepalive.
_MISC_INTERVAL_S = 1.0
#: First and largest pause between reconnection attempts.
_RECONNECT_DELAY_S = (0.1, 2.0)
#: While the broker stays away, one warning every this many attempts (about a minute).
_RECONNECT_LOG_EVERY = 30


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
        stopped: Callable[[], bool] = lambda: False,
    ) -> None:
        """Connect, or raise PublishError: the first connection must succeed (a wrong URL
        fails at once). Once connected, a lost connection is retried for as long as it takes,
        until `stopped()` holds (then PublishError)."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise PublishError(f"{url!r} is not an mqtt://user:password@host:port URL")
        self._ack_timeout_s = ack_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._stopped = stopped
        self._window = window
        self._sent = 0
        self._acked = 0
        self._connected = False
        self._refused: str | None = None
        self._next_misc = 0.0
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"courtyard-sim-{site}"[:64],
            protocol=mqtt.MQTTv311,
        )
        if parts.username:
            client.username_pw_set(unquote(parts.username), unquote(parts.password or ""))
        if parts.scheme == "mqtts":
            client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        # `window` bounds what is in flight, here in `send`, so paho's own limit is off: with one
        # set, paho scans every unacknowledged message on each PUBACK (`_update_inflight`),
        # a quarter of the publishing time at a window of 1,000.
        client.max_inflight_messages_set(0)
        client.max_queued_messages_set(0)
        will = topic(site, gateway, Channel.STATUS)
        client.will_set(will, encode_status(Status.OFFLINE), qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        self._client = client
        try:
            client.connect(
                parts.hostname, parts.port or (8883 if parts.scheme == "mqtts" else 1883)
            )
        except OSError as exc:
            raise PublishError(f"cannot connect to {parts.hostname}:{parts.port}: {exc}") from None
        if not self._wait(self._answered, connect_timeout_s, reconnect=False):
            self._refused = self._refused or "timeout"
        if self._refused:
            client.disconnect()
            raise PublishError(f"broker refused or did not answer: {self._refused}")

    def _answered(self) -> bool:
        return self._connected or self._refused is not None

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
        else:
            self._connected = True

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._connected = False

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._acked += 1

    def send(self, message: Outgoing) -> None:
        if self._sent - self._acked >= self._window:
            if not self._wait(lambda: self._sent - self._acked < self._window, self._ack_timeout_s):
                raise PublishError(f"no PUBACK for {self._ack_timeout_s} s")
        elif self._sent % _SERVICE_EVERY == 0:
            self._pump(0.0)
        self._sent += 1
        # Written to the socket here, in this thread; while disconnected paho keeps it and sends
        # it after the reconnection (`_reconnect`).
        self._client.publish(message.topic, message.payload, message.qos, message.retain)

    def idle(self, seconds: float) -> None:
        """Wait `seconds` of real time, handling acknowledgements and keepalives meanwhile."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._pump(min(left, _MISC_INTERVAL_S))

    def close(self) -> int:
        """Wait for every acknowledgement, disconnect cleanly (no will), return the acked count."""
        try:
            self._wait(lambda: self._acked >= self._sent, self._ack_timeout_s)
        except PublishError as exc:
            logger.warning("giving up waiting for acknowledgements: %s", exc)
        acked = self._acked
        if acked < self._sent:
            logger.warning(
                "%s of %s messages unacknowledged at close", self._sent - acked, self._sent
            )
        self._client.disconnect()  # written in line; paho closes the socket once it is out
        return acked

    def _wait(self, done: Callable[[], bool], timeout_s: float, reconnect: bool = True) -> bool:
        """Run the network loop until `done()` or `timeout_s` of connected time; False on
        timeout. The clock starts again after a reconnection: the time the broker was away
        is not the broker failing to answer."""
        deadline = time.monotonic() + timeout_s
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if not self._service(min(left, _MISC_INTERVAL_S)):
                if not reconnect:
                    raise PublishError("the broker closed the connection while connecting")
                self._reconnect()
                deadline = time.monotonic() + timeout_s
        return True

    def _pump(self, timeout_s: float) -> None:
        if not self._service(timeout_s):
            self._reconnect()

    def _service(self, timeout_s: float) -> bool:
        """One round of paho's network loop: read what arrived, write what is pending.

        Returns False when the connection is lost.
        """
        client = self._client
        sock = client.socket()
        if sock is None:
            return False
        writable = [sock] if client.want_write() else []
        readable, writable, _ = select.select([sock], writable, [], timeout_s)
        rc = MQTTErrorCode.MQTT_ERR_SUCCESS
        if readable:
            rc = client.loop_read()
        if writable and rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
            rc = client.loop_write()
        now = time.monotonic()
        if now >= self._next_misc and rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
            rc = client.loop_misc()
            self._next_misc = now + _MISC_INTERVAL_S
        return rc == MQTTErrorCode.MQTT_ERR_SUCCESS

    def _reconnect(self) -> None:
        """Reconnect after a lost connection, as paho's loop thread would: for as long as it
        takes (a broker restarting, a network down for an hour), until `stopped()`.

        paho resends the unacknowledged QoS 1 messages once the new session is up (with DUP
        set), so the acked count stays exact; the broker may deliver some twice, as QoS 1 allows.
        """
        logger.warning("connection to the broker lost; reconnecting")
        delay, max_delay = _RECONNECT_DELAY_S
        self._connected = False
        for attempt in itertools.count(1):
            if self._stopped():
                raise PublishError("stopped while reconnecting to the broker")
            try:
                self._refused = None
                self._client.reconnect()
                answered = self._wait(self._answered, self._connect_timeout_s, reconnect=False)
                if answered and self._connected:
                    logger.info("reconnected to the broker after %d attempts", attempt)
                    return
                reason = self._refused or "no answer"
            except (OSError, PublishError) as exc:
                reason = str(exc)
            if attempt == 1 or attempt % _RECONNECT_LOG_EVERY == 0:
                logger.warning("broker unreachable (%s); trying on (attempt %d)", reason, attempt)
            time.sleep(delay)
            delay = min(delay * 2, max_delay)
