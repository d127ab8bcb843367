"""The shipped broker config and ACL, run by a real Mosquitto with make-passwords' accounts.

deploy/mosquitto/mosquitto.conf is started with only its listener and its /mosquitto paths
rewritten; deploy/make-passwords writes the password file and ACL from an env file and a device
list, as an operator would. Refusals are checked by the MQTT 5 reason codes and by what reaches
the ingest account's subscription: a refused message, were it delivered, would arrive before a
sentinel the same client publishes next (one broker thread, one ordered session).
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from courtyard.embedded import prepare_dir, service_account
from courtyard.embedded.child import Child
from courtyard.ports import LOOPBACK, accepts_connections, free_port
from ingest import wire
from ingest.settings import IngestSettings
from ingest.subscriber import shared
from tests.deploy.deploy_files import COMPOSE_FILE, MOSQUITTO_DIR, make_passwords

TIMEOUT_S = 10.0
SITE = "sunny-court"
GATEWAY_BASE = "z2m-gw-1"
SHARE_GROUP = "courtyard-ingest"
NOT_AUTHORIZED = 0x87
#: Mosquitto 2.0.11 answers a wrong password with 0x87; the specification's own code is 0x86.
REFUSED_LOGIN = {0x86, NOT_AUTHORIZED}
SECRETS = {
    "MQTT_INGEST_PASSWORD": "ingest-" + "a1" * 12,
    "MQTT_DEVICE_SECRET": "devices-" + "b2" * 12,
    "MQTT_SIMULATOR_PASSWORD": "sim-" + "c3" * 12,
}
DEVICES = f"""\
# a plain device, another one, and a Zigbee2MQTT gateway
dev-a
dev-b
gw-1 gateway {GATEWAY_BASE}
"""


def _binary(name: str) -> str | None:
    sbin = os.pathsep.join(["/usr/sbin", "/usr/local/sbin", "/sbin"])
    return shutil.which(name) or shutil.which(name, path=sbin)


@dataclass(frozen=True)
class Broker:
    port: int
    passwords: dict[str, str]


def adapt_config(text: str, port: int, auth: Path, data: Path) -> str:
    """The shipped config with only the listener and the container's paths changed."""
    replacements = [
        (r"^listener 1883$", f"listener {port} {LOOPBACK}", 1),
        (r"/mosquitto/auth/", f"{auth}/", 2),
        (r"/mosquitto/data/", f"{data}/", 1),
    ]
    for pattern, replacement, expected in replacements:
        text, count = re.subn(pattern, replacement, text, flags=re.M)
        assert count == expected, f"{pattern!r} found {count} times in mosquitto.conf"
    return text


@pytest.fixture(scope="module")
def broker(servers_root: Path) -> Iterator[Broker]:
    mosquitto = _binary("mosquitto")
    if mosquitto is None or _binary("mosquitto_passwd") is None:
        pytest.skip("needs Mosquitto and mosquitto_passwd (Debian: apt install mosquitto)")
    account = service_account()
    root = prepare_dir(Path(tempfile.mkdtemp(prefix="acl-", dir=servers_root)), account)
    auth, data = prepare_dir(root / "auth", account), prepare_dir(root / "data", account)
    env_file, devices = root / "env", root / "devices"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in SECRETS.items()))
    devices.write_text(DEVICES)
    owner = f"{account.uid}:{account.gid}" if account else f"{os.getuid()}:{os.getgid()}"
    argv = [sys.executable, str(make_passwords().__file__), "--env-file", str(env_file)]
    argv += ["--devices", str(devices), "--out", str(auth), "--owner", owner]
    subprocess.run(argv, check=True, capture_output=True, text=True)

    port = free_port()
    conf = adapt_config((MOSQUITTO_DIR / "mosquitto.conf").read_text(), port, auth, data)
    (root / "mosquitto.conf").write_text(conf)
    child = Child("mosquitto", root / "mosquitto.log", signal.SIGTERM)
    child.spawn([mosquitto, "-c", str(root / "mosquitto.conf")], account, cwd=root)
    try:
        child.wait_ready(lambda: accepts_connections(port), TIMEOUT_S)
        mp = make_passwords()
        passwords = {
            mp.INGEST_USER: SECRETS["MQTT_INGEST_PASSWORD"],
            mp.SIMULATOR_USER: SECRETS["MQTT_SIMULATOR_PASSWORD"],
        }
        for name in ("dev-a", "dev-b", "gw-1"):
            passwords[name] = mp.device_password(SECRETS["MQTT_DEVICE_SECRET"], name)
        yield Broker(port, passwords)
    finally:
        child.stop()
        shutil.rmtree(root, ignore_errors=True)


class Session:
    """One MQTT 5 connection: CONNACK, PUBACK and SUBACK reason codes, and received messages."""

    def __init__(
        self,
        broker: Broker,
        username: str | None,
        password: str | None = None,
        *,
        client_id: str = "",
        protocol: MQTTProtocolVersion = mqtt.MQTTv5,
    ) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"test-{uuid.uuid4().hex[:8]}",
            protocol=protocol,
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self._connack: queue.Queue[ReasonCode] = queue.Queue()
        self._pubacks: dict[int, ReasonCode] = {}
        self._subacks: dict[int, list[ReasonCode]] = {}
        self._acked = threading.Condition()
        self.client.on_connect = lambda c, u, f, rc, p: self._connack.put(rc)
        self.client.on_message = lambda c, u, msg: self.messages.put(msg)
        self.client.on_publish = self._on_publish
        self.client.on_subscribe = self._on_subscribe
        self.client.connect(LOOPBACK, broker.port)
        self.client.loop_start()
        self.connack = self._connack.get(timeout=TIMEOUT_S)

    def _on_publish(
        self, client: mqtt.Client, userdata: object, mid: int, rc: ReasonCode, props: object
    ) -> None:
        with self._acked:
            self._pubacks[mid] = rc
            self._acked.notify_all()

    def _on_subscribe(
        self, client: mqtt.Client, userdata: object, mid: int, rcs: list[ReasonCode], p: object
    ) -> None:
        with self._acked:
            self._subacks[mid] = rcs
            self._acked.notify_all()

    def publish(self, topic: str, payload: str, *, retain: bool = False) -> ReasonCode:
        """Publish at QoS 1; the PUBACK's reason code."""
        mid = self.client.publish(topic, payload, qos=1, retain=retain).mid
        with self._acked:
            assert self._acked.wait_for(lambda: mid in self._pubacks, TIMEOUT_S)
            return self._pubacks.pop(mid)

    def subscribe(self, *filters: str) -> list[ReasonCode]:
        result, mid = self.client.subscribe([(f, 1) for f in filters])
        assert result == mqtt.MQTT_ERR_SUCCESS and mid is not None
        with self._acked:
            assert self._acked.wait_for(lambda: mid in self._subacks, TIMEOUT_S)
            return self._subacks.pop(mid)

    def until(self, topic: str, payload: str) -> list[tuple[str, str]]:
        """(topic, payload) of every message received up to and including this one."""
        seen: list[tuple[str, str]] = []
        while (topic, payload) not in seen:
            msg = self.messages.get(timeout=TIMEOUT_S)
            seen.append((msg.topic, msg.payload.decode()))
        return seen

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def ingest(broker: Broker) -> Iterator[Session]:
    """The ingest account subscribed as a worker of docker-compose.yml is, shared group included."""
    session = Session(broker, make_passwords().INGEST_USER, broker.passwords["courtyard-ingest"])
    assert session.connack == 0
    filters = [wire.SUBSCRIPTION, f"{GATEWAY_BASE}/#", "zigbee2mqtt/#"]
    granted = session.subscribe(*(shared(f, SHARE_GROUP) for f in filters))
    assert [rc.value for rc in granted] == [1, 1, 1]
    yield session
    session.close()


@pytest.fixture
def device(broker: Broker) -> Iterator[Session]:
    session = Session(broker, "dev-a", broker.passwords["dev-a"])
    assert session.connack == 0
    yield session
    session.close()


def assert_nothing_but_a_sentinel(ingest: Session, device: Session) -> None:
    """What `device` publishes next is the first thing ingest receives: nothing came before it."""
    topic, payload = wire.topic(SITE, "dev-a", wire.Channel.TELEMETRY), uuid.uuid4().hex
    assert device.publish(topic, payload) == 0
    assert ingest.until(topic, payload) == [(topic, payload)]


def test_device_publishes_under_its_own_id(ingest: Session, device: Session) -> None:
    for channel in wire.Channel:
        topic, payload = wire.topic(SITE, "dev-a", channel), uuid.uuid4().hex
        assert device.publish(topic, payload) == 0
        assert ingest.until(topic, payload) == [(topic, payload)]


@pytest.mark.parametrize(
    "topic",
    [
        wire.topic(SITE, "dev-b", wire.Channel.TELEMETRY),  # another device's id
        wire.topic("other-site", "dev-b", wire.Channel.STATUS),
        wire.topic(SITE, "dev-a-2", wire.Channel.EVENT),  # an id that only starts like its own
        f"{GATEWAY_BASE}/kitchen sensor",  # a gateway's Zigbee2MQTT topics
        "zigbee2mqtt/hall door",
        "courtyard/v1/dev-a",  # not at the device level of the topic tree
        # Its own id, but not a topic ingest stores.
        wire.topic(SITE, "dev-a", wire.Channel.TELEMETRY) + "/x",
        f"courtyard/v1/{SITE}/dev-a/command",
        f"courtyard/v1/{SITE}/dev-a",
    ],
)
def test_device_cannot_publish_elsewhere(ingest: Session, device: Session, topic: str) -> None:
    reason = device.publish(topic, "forged")
    assert reason.value == NOT_AUTHORIZED, reason.getName()
    assert_nothing_but_a_sentinel(ingest, device)


def test_gateway_publishes_under_its_base_only(
    broker: Broker, ingest: Session, device: Session
) -> None:
    gateway = Session(broker, "gw-1", broker.passwords["gw-1"])
    try:
        # Zigbee2MQTT also reads its base (commands under <base>/.../set, bridge requests).
        gateway.subscribe(f"{GATEWAY_BASE}/#")
        topic, payload = f"{GATEWAY_BASE}/3号楼/502 door", uuid.uuid4().hex
        assert gateway.publish(topic, payload) == 0
        assert ingest.until(topic, payload) == [(topic, payload)]
        assert gateway.until(topic, payload) == [(topic, payload)]
        # Its own device-level topics, like any device; nobody else's base.
        status = wire.topic(SITE, "gw-1", wire.Channel.STATUS)
        assert gateway.publish(status, "online") == 0
        assert ingest.until(status, "online") == [(status, "online")]
        assert gateway.publish("zigbee2mqtt/hall door", "forged").value == NOT_AUTHORIZED
        assert (
            gateway.publish(wire.topic(SITE, "dev-a", wire.Channel.EVENT), "forged").value
            == NOT_AUTHORIZED
        )
    finally:
        gateway.close()
    assert_nothing_but_a_sentinel(ingest, device)


def test_simulator_publishes_what_ingest_stores(
    broker: Broker, ingest: Session, device: Session
) -> None:
    simulator = Session(broker, "courtyard-sim", broker.passwords["courtyard-sim"])
    try:
        for topic in [
            *(wire.topic(SITE, "dev-b", channel) for channel in wire.Channel),
            "zigbee2mqtt/hall door",
        ]:
            payload = uuid.uuid4().hex
            assert simulator.publish(topic, payload) == 0
            assert ingest.until(topic, payload) == [(topic, payload)]
        for topic in [wire.topic(SITE, "dev-b", wire.Channel.EVENT) + "/x", "courtyard/v1/x"]:
            assert simulator.publish(topic, "forged").value == NOT_AUTHORIZED
    finally:
        simulator.close()
    assert_nothing_but_a_sentinel(ingest, device)


@pytest.mark.parametrize(
    "topic",
    [
        wire.topic(SITE, "dev-a", wire.Channel.TELEMETRY),
        wire.topic(SITE, "courtyard-ingest", wire.Channel.STATUS),  # as a device of its name
        f"{GATEWAY_BASE}/kitchen sensor",
        "zigbee2mqtt/hall door",
    ],
)
def test_ingest_cannot_publish(ingest: Session, device: Session, topic: str) -> None:
    assert ingest.publish(topic, "forged").value == NOT_AUTHORIZED
    assert_nothing_but_a_sentinel(ingest, device)


def test_device_reads_nothing(ingest: Session, device: Session) -> None:
    """Mosquitto grants the subscription and filters what it delivers: the broker writes a
    message to its subscribers before it acknowledges it, so by the PUBACK it would be here."""
    device.subscribe("courtyard/v1/#", wire.topic(SITE, "dev-a", wire.Channel.STATUS))
    topic, payload = wire.topic(SITE, "dev-a", wire.Channel.STATUS), uuid.uuid4().hex
    assert device.publish(topic, payload) == 0
    assert ingest.until(topic, payload) == [(topic, payload)]
    assert device.messages.empty()


@pytest.mark.parametrize("protocol", [mqtt.MQTTv5, mqtt.MQTTv311], ids=["mqtt5", "mqtt3.1.1"])
def test_anonymous_clients_are_refused(broker: Broker, protocol: MQTTProtocolVersion) -> None:
    session = Session(broker, None, protocol=protocol)
    try:
        assert session.connack.value == NOT_AUTHORIZED, session.connack.getName()
    finally:
        session.close()


@pytest.mark.parametrize(
    ("username", "password_of"),
    [
        ("dev-a", None),  # a wrong password
        ("dev-a", "dev-b"),  # another device's password
        ("courtyard-ingest", "dev-a"),
        ("dev-c", "dev-a"),  # not in the device list
        ("courtyard-sim", "courtyard-ingest"),
    ],
)
def test_wrong_passwords_are_refused(
    broker: Broker, username: str, password_of: str | None
) -> None:
    password = broker.passwords[password_of] if password_of else "not-" + broker.passwords[username]
    session = Session(broker, username, password)
    try:
        assert session.connack.value in REFUSED_LOGIN, session.connack.getName()
    finally:
        session.close()


_DEVICE_SCRIPT = """import sys, threading
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
port, user, password, client_id, will = sys.argv[1:6]
client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
client.username_pw_set(user, password)
client.will_set(will, "offline", qos=1, retain=True)
connected = threading.Event()
client.on_connect = lambda c, u, f, rc, p: connected.set()
client.connect("127.0.0.1", int(port))
client.loop_start()
connected.wait(10)
print("connected", flush=True)
threading.Event().wait()
"""


def lose_device(broker: Broker, client_id: str, will: str) -> None:
    """dev-a connects with a last will on `will` and dies (SIGKILL): no DISCONNECT is sent."""
    process = subprocess.Popen(
        [sys.executable, "-c", _DEVICE_SCRIPT, str(broker.port), "dev-a"]
        + [broker.passwords["dev-a"], client_id, will],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "connected\n"
    finally:
        process.kill()
        process.wait(TIMEOUT_S)
        if process.stdout is not None:
            process.stdout.close()


def clear_retained(broker: Broker, status: str) -> None:
    """Remove dev-a's retained status. Mosquitto 2.0.11 also sends retained messages to new
    shared subscriptions, so the next test's ingest would receive it first."""
    device = Session(broker, "dev-a", broker.passwords["dev-a"])
    try:
        assert device.publish(status, "", retain=True) == 0
    finally:
        device.close()


def test_last_will_on_its_own_status_topic(broker: Broker, ingest: Session) -> None:
    status = wire.topic(SITE, "dev-a", wire.Channel.STATUS)
    lose_device(broker, f"dev-a-{uuid.uuid4().hex[:6]}", status)
    assert ingest.until(status, "offline")[-1] == (status, "offline")
    # Retained, so the registry (and anyone subscribing later) sees the device offline.
    reader = Session(broker, "courtyard-ingest", broker.passwords["courtyard-ingest"])
    try:
        assert [rc.value for rc in reader.subscribe(status)] == [1]
        msg = reader.messages.get(timeout=TIMEOUT_S)
        assert (msg.topic, msg.payload, msg.retain) == (status, b"offline", True)
    finally:
        reader.close()
        clear_retained(broker, status)


@pytest.mark.parametrize(("will_of", "delivered"), [("dev-a", True), ("dev-b", False)])
def test_last_will_only_under_its_own_id(
    broker: Broker, ingest: Session, will_of: str, delivered: bool
) -> None:
    """A will is checked as a publish. After the drop the device reconnects with the same client
    id; the broker handles the old connection's will before it answers, so a will that was sent
    reaches ingest before the new connection's first message."""
    will = wire.topic(SITE, will_of, wire.Channel.STATUS)
    client_id = f"dev-a-{uuid.uuid4().hex[:6]}"
    lose_device(broker, client_id, will)
    again = Session(broker, "dev-a", broker.passwords["dev-a"], client_id=client_id)
    try:
        topic, payload = wire.topic(SITE, "dev-a", wire.Channel.TELEMETRY), uuid.uuid4().hex
        assert again.publish(topic, payload) == 0
        expected = [(will, "offline")] * delivered + [(topic, payload)]
        assert ingest.until(topic, payload) == expected
    finally:
        again.close()
        if delivered:
            clear_retained(broker, will)


def test_the_brokers_health_check_passes_and_can_fail(broker: Broker) -> None:
    """docker-compose.yml's check, run here against this broker: a login, a $SYS read."""
    if _binary("mosquitto_sub") is None:
        pytest.skip("needs mosquitto_sub (Debian: apt install mosquitto-clients)")
    service = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["mosquitto"]
    kind, command = service["healthcheck"]["test"]
    assert kind == "CMD-SHELL" and " -p 1883 " in command
    command = command.replace(" -p 1883 ", f" -p {broker.port} ").replace("$$", "$")
    for password, passes in [(broker.passwords["courtyard-ingest"], True), ("wrong", False)]:
        env = {"PATH": os.environ["PATH"], "MQTT_INGEST_PASSWORD": password}
        result = subprocess.run(["sh", "-c", command], env=env, capture_output=True, timeout=30)
        assert (result.returncode == 0) == passes, result.stderr


def test_config_keeps_what_ingest_relies_on() -> None:
    conf = (MOSQUITTO_DIR / "mosquitto.conf").read_text()
    options = dict(
        line.split(None, 1) for line in conf.splitlines() if line and not line.startswith("#")
    )
    ingest = IngestSettings()
    assert options["allow_anonymous"] == "false"
    assert options["persistence"] == "true"
    # Mosquitto's default (1000) drops QoS 1 messages queued for a busy or restarting ingest.
    assert int(options["max_queued_messages"]) >= 100 * ingest.max_undelivered
    assert int(options["max_inflight_messages"]) >= ingest.max_undelivered
    assert int(options["max_packet_size"]) > ingest.max_payload_bytes
