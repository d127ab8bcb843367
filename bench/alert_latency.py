"""Benchmark: from publishing a reading or an SOS to the signed webhook arriving, under load.

On an embedded Mosquitto and PostgreSQL, `courtyard ingest` and `courtyard rules` run as their
own processes (as in production); this process publishes a steady background load of telemetry
and, meanwhile, probes: a threshold-crossing reading of a pump (a new alert each time) and an SOS
press in a household (a new care alert each time). A webhook receiver here records when each
alert's notification arrives. In the same run, a baseline: the MQTT round trip (publish -> a
plain subscriber gets it) of the same broker under the same load, since the machine is shared
and noisy. Target (issue 4): p99 < 500 ms with 2,000 msg/s of background load.

    python bench/alert_latency.py [--rate 2000] [--probes 100] [--warmup 5]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from psycopg import sql

from courtyard.embedded import EmbeddedMosquitto, EmbeddedPostgres, service_account
from store import migrate
from store.places import provisioning

SITE = "bench-court"
SECRET = "bench-secret"
BACKGROUND_DEVICES = 500
RULES = """
rules:
  - id: pump-current-high
    kind: threshold
    category: maintenance
    severity: warning
    params: {metric: current_a, op: ">", value: 12.0}
  - id: sos
    kind: emergency
    category: care
    severity: critical
    params: {kinds: [sos]}
"""


class Arrivals:
    """Webhook arrivals: subject -> perf_counter time of the first notification."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.lock = threading.Lock()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        arrivals = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                now = time.perf_counter()
                body = self.rfile.read(int(self.headers["Content-Length"]))
                payload = orjson.loads(body)
                if payload.get("change") == "raised":
                    with arrivals.lock:
                        arrivals.at.setdefault(str(payload["subject"]), now)
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


@contextlib.contextmanager
def servers() -> Iterator[tuple[EmbeddedPostgres, EmbeddedMosquitto]]:
    account = service_account()
    root = Path(tempfile.mkdtemp(prefix="courtyard-bench-"))
    if account is not None:
        os.chown(root, account.uid, account.gid)
    try:
        with EmbeddedPostgres(root / "pg") as pg, EmbeddedMosquitto(root / "mqtt") as broker:
            yield pg, broker
    finally:
        shutil.rmtree(root, ignore_errors=True)


def fresh_database(server_url: str, webhook: str, households: int) -> str:
    name = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = server_url.rsplit("/", 1)[0] + "/" + name
    migrate.run(url)
    with psycopg.connect(url) as conn:
        provisioning.upsert_site(conn, SITE, "Bench Court", "Asia/Shanghai")
        provisioning.upsert_person(conn, "mgr", "Manager", "manager", channels={"webhook": webhook})
        provisioning.assign(conn, "mgr", SITE, "manager")
        provisioning.upsert_person(
            conn, "vol", "Volunteer", "volunteer", channels={"webhook": webhook}
        )
        for i in range(households):
            provisioning.upsert_household(conn, SITE, f"hh-{i}", f"Room {i}")
            provisioning.set_household_devices(conn, SITE, f"hh-{i}", [f"hh-{i}-sos"])
            provisioning.assign(conn, "vol", SITE, "primary", f"hh-{i}")
    return url


def client(url: str, client_id: str) -> mqtt.Client:
    host, port = url.removeprefix("mqtt://").rsplit(":", 1)
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    c.max_inflight_messages_set(1000)
    c.connect(host, int(port))
    c.loop_start()
    return c


def background(
    broker_url: str, rate: float, stop: threading.Event, sent: list[tuple[int, float]]
) -> None:
    """`rate` telemetry messages/s spread over BACKGROUND_DEVICES meters, paced every 10 ms."""
    c = client(broker_url, "bench-background")
    n = 0
    start = time.perf_counter()
    while not stop.is_set():
        due = int((time.perf_counter() - start) * rate)
        while n < due:
            device = f"meter-{n % BACKGROUND_DEVICES:03d}"
            body = {"ts": datetime.now(UTC).isoformat(), "readings": {"energy_kwh": n * 0.01}}
            c.publish(f"courtyard/v1/{SITE}/{device}/telemetry", orjson.dumps(body), qos=1)
            n += 1
        time.sleep(0.01)
    sent.append((n, time.perf_counter() - start))
    c.loop_stop()
    c.disconnect()


def mqtt_round_trips(broker_url: str, count: int) -> list[float]:
    """Baseline: publish -> delivered to a plain subscriber on the same broker, under load."""
    got: dict[str, float] = {}
    ready = threading.Event()
    sub = client(broker_url, "bench-baseline-sub")

    def on_message(c: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        got[msg.payload.decode()] = time.perf_counter()

    sub.on_message = on_message
    sub.subscribe("bench/ping/#", qos=1)
    time.sleep(0.5)
    ready.set()
    pub = client(broker_url, "bench-baseline-pub")
    sent: dict[str, float] = {}
    for i in range(count):
        key = f"p{i}"
        sent[key] = time.perf_counter()
        pub.publish(f"bench/ping/{i}", key.encode(), qos=1)
        time.sleep(0.05)
    time.sleep(1.0)
    for c in (sub, pub):
        c.loop_stop()
        c.disconnect()
    return [got[k] - sent[k] for k in sent if k in got]


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return p50 * 1000, p99 * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=2000.0, help="background messages/s")
    parser.add_argument("--probes", type=int, default=100, help="probes of each kind")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of load before probes")
    args = parser.parse_args()

    arrivals = Arrivals()
    receiver = HTTPServer(("127.0.0.1", 0), arrivals.handler())
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    webhook = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    tmp = Path(tempfile.mkdtemp(prefix="courtyard-latency-"))
    (tmp / "rules.yaml").write_text(RULES)
    with servers() as (pg, broker):
        url = fresh_database(pg.url, webhook, args.probes)
        env = {k: v for k, v in os.environ.items() if not k.startswith("COURTYARD_")}
        env.update(
            COURTYARD_DATABASE_URL=url,
            COURTYARD_MQTT_URL=broker.url,
            COURTYARD_LOG_LEVEL="WARNING",
            COURTYARD_INGEST__CLIENT_ID="bench-ingest",
            COURTYARD_NOTIFY__WEBHOOK_SECRET=SECRET,
        )
        argv = [sys.executable, "-m", "courtyard"]
        procs = [
            subprocess.Popen([*argv, "ingest"], env=env, cwd=tmp),
            subprocess.Popen(
                [*argv, "rules", "--rules-file", str(tmp / "rules.yaml")], env=env, cwd=tmp
            ),
        ]
        stop = threading.Event()
        sent: list[tuple[int, float]] = []
        load = threading.Thread(target=background, args=(broker.url, args.rate, stop, sent))
        try:
            time.sleep(3.0)  # the engine owns the site once the first reading registered it
            load.start()
            time.sleep(args.warmup)
            prober = client(broker.url, "bench-prober")
            published: dict[str, float] = {}
            for i in range(args.probes):
                pump, home = f"pump-{i:03d}", f"hh-{i}"
                now = datetime.now(UTC).isoformat()
                published[pump] = time.perf_counter()
                prober.publish(
                    f"courtyard/v1/{SITE}/{pump}/telemetry",
                    orjson.dumps({"ts": now, "readings": {"current_a": 13.0}}),
                    qos=1,
                )
                time.sleep(0.1)
                published[home] = time.perf_counter()
                prober.publish(
                    f"courtyard/v1/{SITE}/{home}-sos/event",
                    orjson.dumps({"ts": datetime.now(UTC).isoformat(), "type": "sos"}),
                    qos=1,
                )
                time.sleep(0.1)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and len(arrivals.at) < len(published):
                time.sleep(0.1)
            baseline = mqtt_round_trips(broker.url, 100)
        finally:
            stop.set()
            if load.is_alive():
                load.join()
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(30)
            receiver.shutdown()
            shutil.rmtree(tmp, ignore_errors=True)

    count, elapsed = sent[0]
    print(f"background load: {count / elapsed:,.0f} msg/s over {elapsed:.0f} s", end="")
    print(f" (target {args.rate:,.0f})")
    base50, base99 = percentiles(baseline)
    print(f"baseline MQTT round trip     p50 {base50:7.1f} ms  p99 {base99:7.1f} ms")
    ok = True
    for label, prefix in (("threshold -> webhook", "pump-"), ("SOS -> webhook", "hh-")):
        keys = [k for k in published if k.startswith(prefix)]
        lat = [arrivals.at[k] - published[k] for k in keys if k in arrivals.at]
        missing = len(keys) - len(lat)
        p50, p99 = percentiles(lat) if lat else (float("nan"), float("nan"))
        verdict = "PASS" if not missing and p99 < 500 else "FAIL"
        ok &= verdict == "PASS"
        print(
            f"{label:<28} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  "
            f"({p99 / base99:.0f}x the MQTT p99; {missing} missing)  target p99 < 500 ms: {verdict}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
