"""Embedded PostgreSQL and Mosquitto: serve, restart with their data, stop, die with the parent."""

from __future__ import annotations

import ctypes
import os
import queue
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as mqtt
import psutil
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from courtyard.embedded import EmbeddedError, EmbeddedMosquitto, EmbeddedPostgres, service_account
from courtyard.ports import LOOPBACK

TIMEOUT_S = 30.0
_PR_SET_CHILD_SUBREAPER = 36


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


def gone(pid: int) -> bool:
    """No such process, or only a zombie left for a parent (or a container's init) to reap."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def assert_runs_as_service_account(pid: int) -> None:
    account = service_account()
    if account is not None:
        assert psutil.Process(pid).uids().effective == account.uid


def test_postgres_keeps_committed_data_across_restart_and_crash_and_stops_cleanly(
    server_dir: Path,
) -> None:
    server = EmbeddedPostgres(server_dir)
    with server:
        first_pid = server.pid
        assert first_pid is not None
        assert_runs_as_service_account(first_pid)
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (n int)")
            conn.execute("INSERT INTO kept VALUES (42)")

        url = server.url
        server.restart()

        assert server.url == url
        assert server.pid not in (None, first_pid)
        assert gone(first_pid)
        with psycopg.connect(server.url, autocommit=True) as conn:
            assert conn.execute("SELECT n FROM kept").fetchall() == [(42,)]
            conn.execute("INSERT INTO kept VALUES (43)")

        server.kill()  # committed, never checkpointed: recovered from the WAL
        server.start()

        with psycopg.connect(server.url) as conn:
            assert conn.execute("SELECT n FROM kept ORDER BY n").fetchall() == [(42,), (43,)]
        last_pid = server.pid
    assert last_pid is not None
    assert server.pid is None
    assert gone(last_pid)


def test_postgres_start_failure_shows_the_server_log(server_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        server = EmbeddedPostgres(server_dir, port=taken.getsockname()[1])
        with pytest.raises(EmbeddedError, match="(?s)exited with code.*Address already in use"):
            server.start()
    assert server.pid is None


class Session:
    """A paho client whose persistent session, messages and acknowledgements tests can wait on."""

    def __init__(self, broker: EmbeddedMosquitto, client_id: str, protocol: MQTTProtocolVersion):
        self.broker = broker
        self.protocol = protocol
        self.messages: queue.Queue[bytes] = queue.Queue()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.session_present: bool | None = None
        if protocol == mqtt.MQTTv5:
            self.client = mqtt.Client(
                CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol
            )
        else:
            self.client = mqtt.Client(
                CallbackAPIVersion.VERSION2,
                client_id=client_id,
                protocol=protocol,
                clean_session=False,
            )
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if not reason_code.is_failure:
            self.session_present = flags.session_present
            self.connected.set()

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        self.subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        self.messages.put(bytes(message.payload))

    def __enter__(self) -> Session:
        if self.protocol == mqtt.MQTTv5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = 3600
            self.client.connect(
                LOOPBACK, self.broker.port, clean_start=False, properties=properties
            )
        else:
            self.client.connect(LOOPBACK, self.broker.port)
        self.client.loop_start()
        assert self.connected.wait(TIMEOUT_S), "no CONNACK"
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.mark.parametrize("protocol", [mqtt.MQTTv311, mqtt.MQTTv5], ids=["3.1.1", "5"])
def test_mosquitto_keeps_queued_qos1_for_an_offline_session_across_restart(
    fresh_broker: EmbeddedMosquitto, protocol: MQTTProtocolVersion
) -> None:
    if not fresh_broker.persistent:
        pytest.skip(f"{fresh_broker.backend} keeps sessions in memory only")
    with Session(fresh_broker, "courtyard-test-sub", protocol) as subscriber:
        subscriber.client.subscribe("site/+/telemetry", qos=1)
        assert subscriber.subscribed.wait(TIMEOUT_S), "no SUBACK"

    with Session(fresh_broker, "courtyard-test-pub", protocol) as publisher:
        publisher.client.publish("site/a/telemetry", b"while-offline", qos=1).wait_for_publish(
            TIMEOUT_S
        )

    old_pid = fresh_broker.pid
    assert old_pid is not None
    assert_runs_as_service_account(old_pid)
    fresh_broker.restart()
    assert gone(old_pid)

    with Session(fresh_broker, "courtyard-test-sub", protocol) as subscriber:
        assert subscriber.session_present is True
        assert subscriber.messages.get(timeout=TIMEOUT_S) == b"while-offline"

    new_pid = fresh_broker.pid
    assert new_pid is not None
    fresh_broker.stop()
    assert gone(new_pid)


_STARTER = """\
import signal, sys
from pathlib import Path
from courtyard.embedded import EmbeddedMosquitto, EmbeddedPostgres
server_class = {"mosquitto": EmbeddedMosquitto, "postgres": EmbeddedPostgres}[sys.argv[1]]
server = server_class(Path(sys.argv[2])).start()
print(server.pid, flush=True)
signal.pause()
"""


@contextmanager
def adopting_orphans() -> Iterator[Callable[[int], bool]]:
    """Make this process the subreaper of orphaned descendants; yield "has this child exited".

    Without it an orphan is reparented to PID 1, which in some containers never reaps it.
    """
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    assert prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0

    def exited(pid: int) -> bool:
        try:
            return os.waitpid(pid, os.WNOHANG)[0] == pid
        except ChildProcessError:  # not adopted (yet): fall back on what psutil sees
            return gone(pid)

    try:
        yield exited
    finally:
        prctl(_PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("kind", ["mosquitto", "postgres"])
def test_server_dies_with_a_sigkilled_parent(server_dir: Path, kind: str) -> None:
    stderr_path = server_dir.parent / f"{server_dir.name}.starter.log"
    with adopting_orphans() as exited:
        with stderr_path.open("wb") as stderr:
            starter = subprocess.Popen(
                [sys.executable, "-c", _STARTER, kind, str(server_dir)],
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        with starter:
            assert starter.stdout is not None
            ready, _, _ = select.select([starter.stdout], [], [], 60)
            line = starter.stdout.readline() if ready else ""
            if not line.strip():
                starter.kill()
                pytest.fail(f"starter printed no pid:\n{stderr_path.read_text()}")
            server_pid = int(line)
            assert not gone(server_pid)

            os.kill(starter.pid, signal.SIGKILL)
            starter.wait(TIMEOUT_S)

        wait_until(lambda: exited(server_pid), f"{kind} pid {server_pid} to exit after its parent")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root switches to the service account")
def test_as_root_a_data_dir_the_service_account_cannot_reach_is_refused(tmp_path: Path) -> None:
    # pytest's temp root is 0700 root: the account cannot traverse it, and must not be let in.
    modes = {parent: parent.stat().st_mode for parent in tmp_path.parents}
    with pytest.raises(EmbeddedError, match="closed to"):
        EmbeddedMosquitto(tmp_path / "broker").start()
    assert {parent: parent.stat().st_mode for parent in tmp_path.parents} == modes
