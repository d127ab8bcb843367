"""An embedded MQTT broker: Mosquitto, else the iotcore wheel's rumqttd; start, stop, crash.

The broker is `mosquitto` (PATH, then /usr/sbin and /usr/local/sbin), else the `iotcore` wheel
(rumqttd, run as `python -m iotcore --config`). rumqttd keeps sessions in memory only, so with
it `persistent` is False: a broker restart loses sessions and queued messages. As root, Mosquitto
runs as the service account (courtyard.embedded.accounts); the iotcore broker runs as the caller:
the account cannot reach the interpreter, and rumqttd writes nothing to disk.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Literal, Self

from courtyard.embedded.accounts import EmbeddedError, prepare_dir, service_account, write_for
from courtyard.embedded.child import START_TIMEOUT_S, Child, ChildServer
from courtyard.ports import LOOPBACK, accepts_connections, free_port

logger = logging.getLogger(__name__)

BrokerBackend = Literal["auto", "mosquitto", "iotcore"]


def _mosquitto_binary() -> str | None:
    sbin = os.pathsep.join(["/usr/sbin", "/usr/local/sbin", "/sbin"])
    return shutil.which("mosquitto") or shutil.which("mosquitto", path=sbin)


def _has_iotcore() -> bool:
    return importlib.util.find_spec("iotcore") is not None


_MOSQUITTO_CONF = """\
# Written by courtyard.embedded at every start.
listener {port} {host}
allow_anonymous true
persistence true
persistence_location {persistence}/
persistence_file mosquitto.db
# Mosquitto saves sessions and queued messages on a clean shutdown; this bounds what a SIGKILL
# loses to about a second. Each save rewrites the whole file: fine at development scale.
autosave_interval 1
# The default, 1000, silently drops QoS 1 messages queued for a persistent session in a burst.
max_queued_messages 1000000
# Outgoing QoS 1 window of an MQTT 3.1.1 client (MQTT 5 clients set Receive Maximum); the
# default, 20, would throttle ingest's manual acks. Matches IngestSettings.max_undelivered.
max_inflight_messages 10000
# Above ingest's max_payload_bytes, so oversized payloads reach ingest and are counted as rejects.
max_packet_size 1048576
# stderr goes to the log file together with anything printed before the config is read.
log_dest stderr
log_type error
log_type warning
log_type notice
log_type information
log_timestamp_format %Y-%m-%dT%H:%M:%S
"""

_RUMQTTD_TOML = """\
id = 0

[router]
id = 0
max_connections = 10010
max_outgoing_packet_count = 200
max_segment_size = 104857600
max_segment_count = 10

[v4.1]
name = "v4-1"
listen = "{host}:{port}"
next_connection_delay_ms = 1

[v4.1.connections]
connection_timeout_ms = 60000
max_payload_size = 1048576
max_inflight_count = 100
dynamic_filters = true
"""


class EmbeddedMosquitto(ChildServer):
    """An MQTT broker on 127.0.0.1:`port` with its config, log and persistence in `data_dir`.

    `backend` "auto" prefers mosquitto and falls back to the iotcore wheel (rumqttd, MQTT 3.1.1
    only, no persistence across restarts: see `persistent`). `config_extra` is appended to the
    Mosquitto config verbatim. `stop()` is SIGTERM, on which Mosquitto saves sessions and queued
    messages; `kill()` is SIGKILL, which loses what changed since the last autosave (~1 s).
    """

    _crash_signal = signal.SIGKILL

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        config_extra: str = "",
        *,
        backend: BrokerBackend = "auto",
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port if port is not None else free_port()
        self.config_extra = config_extra
        self.backend: Literal["mosquitto", "iotcore"] = self._pick(backend)
        stop_signal = signal.SIGTERM  # mosquitto saves its persistence file on SIGTERM
        self._child = Child(self.backend, self.data_dir / f"{self.backend}.log", stop_signal)

    def _pick(self, backend: BrokerBackend) -> Literal["mosquitto", "iotcore"]:
        if backend in ("auto", "mosquitto") and _mosquitto_binary() is not None:
            return "mosquitto"
        if backend in ("auto", "iotcore") and _has_iotcore():
            if self.config_extra:
                raise EmbeddedError(
                    "config_extra is Mosquitto syntax; the iotcore broker cannot use it"
                )
            return "iotcore"
        raise EmbeddedError(
            f"no MQTT broker for backend {backend!r}: install Mosquitto (Debian: apt install "
            "mosquitto) or the iotcore wheel (pip install iotcore)"
        )

    @property
    def persistent(self) -> bool:
        """Whether sessions and queued QoS 1 messages survive `restart()`."""
        return self.backend == "mosquitto"

    @property
    def url(self) -> str:
        return f"mqtt://{LOOPBACK}:{self.port}"

    def start(self, timeout_s: float = START_TIMEOUT_S) -> Self:
        if self._child.running:
            return self
        account = service_account()
        prepare_dir(self.data_dir, account)
        if self.backend == "mosquitto":
            binary = _mosquitto_binary()
            if binary is None:
                raise EmbeddedError("mosquitto is no longer on PATH, /usr/sbin or /usr/local/sbin")
            persistence = prepare_dir(self.data_dir / "persistence", account)
            config = _MOSQUITTO_CONF.format(port=self.port, host=LOOPBACK, persistence=persistence)
            write_for(self.data_dir / "mosquitto.conf", config + self.config_extra + "\n", account)
            argv = [binary, "-c", str(self.data_dir / "mosquitto.conf")]
        else:
            config_path = self.data_dir / "rumqttd.toml"
            write_for(config_path, _RUMQTTD_TOML.format(port=self.port, host=LOOPBACK), account)
            # rumqttd reports every routed packet as an ERROR tracing span: only CRITICAL is quiet.
            argv = [sys.executable, "-m", "iotcore", "--config", str(config_path)]
            argv += ["--log-level", "CRITICAL"]
            account = None  # the service account cannot reach our interpreter; see module doc
        self._child.spawn(argv, account, cwd=self.data_dir)
        self._child.wait_ready(lambda: accepts_connections(self.port), timeout_s)
        logger.info(
            "%s started: pid %s, %s, data %s", self.backend, self.pid, self.url, self.data_dir
        )
        return self
