"""`courtyard up` as a real process: every service in one, stopped in reverse order by SIGTERM
with nothing left running, data reused by a second run; `--demo`'s time line, users and token."""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import psycopg
import pytest

from api import cli as api_cli
from api.auth.passwords import verify_password
from courtyard import demo
from courtyard.embedded import EmbeddedMosquitto
from courtyard.ports import free_port
from device_sims.emissions import Outgoing
from device_sims.scenario import load_scenario
from device_sims.sinks import MemorySink
from rules.settings import RulesSettings
from store.access.users import NewUser
from store.places import provisioning
from store.readings import history
from store.settings import StoreSettings
from tests.courtyard.up_support import Api, UpProcess, english
from tests.support.mqtt import Publisher
from tests.support.processes import courtyard_env
from tests.support.waiting import wait_for

# One worker runs every `courtyard up`: each takes the MQTT port 1883 when it is free.
pytestmark = pytest.mark.xdist_group("courtyard-up")

COURTYARD = [sys.executable, "-m", "courtyard"]
SITE = "up-court"


def up_env(**settings: str) -> dict[str, str]:
    return english(courtyard_env(**settings))


def status_json(env: dict[str, str], cwd: Path) -> dict[str, object]:
    result = subprocess.run(
        [*COURTYARD, "status", "--json"],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    found: dict[str, object] = json.loads(result.stdout)
    return found


def test_up_runs_ingest_rules_and_api_in_one_process_and_stops_them_in_reverse(
    database_url: str, fresh_broker: EmbeddedMosquitto, tmp_path: Path
) -> None:
    store = StoreSettings(url=database_url)
    with psycopg.connect(database_url) as conn:
        provisioning.upsert_site(conn, SITE, "Up Court", "Asia/Shanghai")
    api_cli.add_user(store, NewUser(user_id="mgr", name="Manager", role="manager", sites=[SITE]))
    token, _info = api_cli.create_token(store, user_id="mgr", name="test", days=1)
    port = free_port()
    env = up_env(
        database_url=database_url,
        mqtt_url=fresh_broker.url,
        http_port=str(port),
        data_dir=str(tmp_path / "data"),
        ingest__client_id=f"up-{uuid.uuid4().hex[:8]}",
    )
    up = UpProcess([*COURTYARD, "up"], env, tmp_path, tmp_path / "up.log")
    base = f"http://127.0.0.1:{port}/"
    try:
        up.wait_healthy(base, timeout_s=120)
        out = up.output()
        assert f"The dashboard is at {base}" in out
        assert "Nobody can log in yet" in out and "--role admin --password" in out

        # The whole path in one process: broker -> ingest -> (in-process wake) rules -> API.
        now = datetime.now(UTC).isoformat()
        with Publisher(fresh_broker.url) as publisher:
            leak = {"ts": now, "type": "water_leak", "subject": "", "attrs": {}}
            publisher.publish(f"courtyard/v1/{SITE}/leak-1/event", orjson.dumps(leak))
            level = {"ts": now, "readings": {"level_pct": 42.0}}
            publisher.publish(f"courtyard/v1/{SITE}/tank-1/telemetry", orjson.dumps(level))
            publisher.flush()
        api = Api(base, token)

        def leak_alerts() -> list[str]:
            return [a["severity"] for a in api.alerts() if a["subject"] == "leak-1"]

        wait_for(
            lambda: leak_alerts() == ["critical"],
            timeout_s=60,
            what="the leak's alert through the API",
        )
        wait_for(api.has_readings, timeout_s=30, what="a reading through the API")
        # One process, one /metrics: ingest's and the rules engine's counters with the API's.
        metrics = httpx.get(base + "metrics", timeout=10).text
        for name in ("courtyard_ingest_messages_received", "courtyard_rules_batches",
                     "courtyard_api_requests"):  # fmt: skip
            assert name in metrics, name
        running = status_json(up_env(data_dir=str(tmp_path / "data")), tmp_path)
        assert isinstance(running["up"], dict) and running["up"]["pid"] == up.process.pid
        assert [len(running[k]) for k in ("ingest", "rules", "api")] == [1, 1, 1]  # type: ignore[arg-type]
        assert up.terminate() == 0
    finally:
        up.kill_tree()
    out = up.output()
    stopped = ("Shutting down", "rules engine stopped", "ingest stopped")  # API, rules, ingest
    stops = [out.index(line) for line in stopped]
    assert stops == sorted(stops), out
    assert not (tmp_path / "data" / "running.json").exists()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_up_with_embedded_servers_leaves_nothing_running_and_a_second_run_reuses_the_data(
    server_dir: Path, tmp_path: Path
) -> None:
    server_dir.chmod(0o755)  # the servers' account (as root) must traverse it to their dirs
    port = free_port()
    env = up_env(data_dir=str(server_dir), http_port=str(port))
    base = f"http://127.0.0.1:{port}/"

    first = UpProcess([*COURTYARD, "up"], env, tmp_path, tmp_path / "first.log")
    try:
        first.wait_healthy(base, timeout_s=180)
        started = first.record_tree()
        assert len(started) >= 3, first.output()  # courtyard, postgres, the broker
        record = status_json(env, tmp_path)["up"]
        assert isinstance(record, dict) and record["pid"] == first.process.pid
        store = StoreSettings(url=str(record["database_url"]))
        api_cli.add_user(
            store,
            NewUser(user_id="keeper", name="Keeper", role="admin"),
            password="kept across restarts",
        )
        assert first.terminate() == 0
        assert first.leftovers() == []
    finally:
        first.kill_tree()

    second = UpProcess([*COURTYARD, "up"], env, tmp_path, tmp_path / "second.log")
    try:
        second.wait_healthy(base, timeout_s=180)
        second.record_tree()
        assert f"Log in at {base}login" in second.output()  # the user of the first run
        record = status_json(env, tmp_path)["up"]
        assert isinstance(record, dict)
        with psycopg.connect(str(record["database_url"])) as conn:
            assert conn.execute("SELECT id FROM users").fetchall() == [("keeper",)]
        assert second.terminate(sig=signal.SIGINT) == 0  # Ctrl-C
        assert second.leftovers() == []
    finally:
        second.kill_tree()


def test_up_refuses_a_busy_http_port_before_starting_anything(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = up_env(data_dir=str(tmp_path / "data"), http_port=str(port))
        result = subprocess.run(
            [*COURTYARD, "up"], env=env, cwd=tmp_path, capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip
    assert result.returncode == 2
    assert f"Port {port} on 127.0.0.1 is in use" in result.stderr
    # No server was started: the data directory holds only the lock `courtyard up` took first.
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["courtyard.lock"]


# -- the demo ----------------------------------------------------------------------------------

START = datetime(2025, 3, 2, 16, tzinfo=UTC)  # a Sunday 16:00 UTC, as small-community's
WEEK = timedelta(weeks=1)
NOW = START + 10 * WEEK + timedelta(days=2, hours=5)


@pytest.mark.parametrize(
    ("newest", "episode", "resume_after"),
    [
        # Fresh: the last seven days, from inside the episode before the current one.
        (None, 9, NOW - WEEK),
        # A run an hour ago: resume after its newest reading, in the current episode.
        (NOW - timedelta(hours=1), 10, NOW - timedelta(hours=1)),
        # A run a month ago: only the last seven days are replayed.
        (NOW - 4 * WEEK, 9, NOW - WEEK),
        # Stopped right at an episode's start.
        (START + 10 * WEEK, 10, START + 10 * WEEK),
    ],
)
def test_the_demo_replays_at_most_a_week_on_the_scenarios_weekly_grid(
    newest: datetime | None, episode: int, resume_after: datetime
) -> None:
    assert demo.plan_timeline(START, NOW, newest) == demo.Timeline(episode, resume_after)


def test_the_catch_up_clock_sends_the_past_at_once_and_waits_for_the_future() -> None:
    slept: list[float] = []
    clock = demo.CatchUpClock(slept.append)
    clock.sleep_until(datetime.now(UTC) - timedelta(days=3))
    assert slept == [] and not clock.live
    clock.sleep_until(datetime.now(UTC) + timedelta(seconds=30))
    assert clock.live and len(slept) == 1 and 29 < slept[0] <= 30


def test_the_window_sink_drops_the_past_but_statuses_and_stops_on_request() -> None:
    def message(ts: float, channel: str) -> Outgoing:
        return Outgoing(ts, f"t/{ts}", b"{}", 1, channel == "status", channel, 1, 0)

    memory = MemorySink()
    stop = threading.Event()
    sink = demo.WindowSink(memory, stop, skip_until=100.0)
    for m in (message(50, "telemetry"), message(60, "status"), message(100, "event")):
        sink.send(m)
    sink.send(message(101, "telemetry"))
    assert [(m.ts, m.channel) for m in memory.messages] == [(60, "status"), (101, "telemetry")]
    stop.set()
    with pytest.raises(demo.SimulatorStopped):
        sink.send(message(102, "telemetry"))
    with pytest.raises(demo.SimulatorStopped):
        sink.idle(5.0)


def test_demo_provisioning_is_an_upsert_with_a_fresh_token(database_url: str) -> None:
    store = StoreSettings(url=database_url)
    now = datetime.now(UTC).replace(microsecond=0)
    first = demo.Demo(now=lambda: now)
    logins = first.provision(store)
    assert first.timeline is not None and first.timeline.resume_after == now - WEEK

    # Something was stored an hour ago: a second run resumes after it.
    site = first.scenario.site.id
    stored_at = now - timedelta(hours=1)
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            # Registered by the provisioning (named, not heard from yet): now it has spoken.
            "INSERT INTO devices (site_id, device_key, first_seen, last_seen) "
            "VALUES (%s, 'tank-01', now(), now()) ON CONFLICT (site_id, device_key) "
            "DO UPDATE SET first_seen = now(), last_seen = now() RETURNING id",
            (site,),
        ).fetchone()
        assert row is not None
        series = conn.execute(
            "INSERT INTO series (device_id, metric) VALUES (%s, 'level_pct') RETURNING id",
            (row[0],),
        ).fetchone()
        assert series is not None
        conn.execute(
            "INSERT INTO readings (series_id, ts, value) VALUES (%s, %s, 1), (%s, %s, 2)",
            (series[0], stored_at - timedelta(days=1), series[0], stored_at),
        )
        # Someone changed a demo password meanwhile.
        conn.execute("UPDATE users SET password_hash = 'x' WHERE id = %s", (demo.VOLUNTEER,))
    second = demo.Demo(now=lambda: now)
    again = second.provision(store)
    assert second.timeline is not None and second.timeline.resume_after == stored_at
    assert second.clock(RulesSettings(clock="event")).now() == stored_at

    with psycopg.connect(database_url) as conn:
        users = conn.execute(
            "SELECT id, role, person_id, password_hash FROM users ORDER BY id"
        ).fetchall()
        tokens = conn.execute(
            "SELECT name, revoked_at IS NULL FROM api_tokens WHERE user_id = %s ORDER BY id",
            (demo.MANAGER,),
        ).fetchall()
        assignments = conn.execute(
            "SELECT household_id FROM assignments WHERE person_id = %s ORDER BY 1",
            (demo.VOLUNTEER,),
        ).fetchall()
        sites = conn.execute("SELECT count(*) FROM sites").fetchone()
    assert [(u[0], u[1], u[2]) for u in users] == [
        (demo.MANAGER, "manager", demo.MANAGER),
        (demo.VOLUNTEER, "volunteer", demo.VOLUNTEER),
    ]
    assert all(verify_password(u[3], demo.DEMO_PASSWORD) for u in users)
    assert tokens == [(demo.TOKEN_NAME, False), (demo.TOKEN_NAME, True)]
    assert logins.token != again.token
    assert [a[0] for a in assignments] == list(again.households)
    assert sites == (1,)
    # The volunteer looks after the households where the scenario's care incidents happen.
    scenario = load_scenario(demo.SCENARIO)
    care = {e.subject for e in scenario.expected_alerts if e.category == "care"}
    assert set(again.households) == care


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_up_demo_shows_data_and_alerts_and_a_second_run_continues_it(
    database_url: str, fresh_broker: EmbeddedMosquitto, tmp_path: Path
) -> None:
    port = free_port()
    env = up_env(
        database_url=database_url,
        mqtt_url=fresh_broker.url,
        http_port=str(port),
        data_dir=str(tmp_path / "data"),
    )
    base = f"http://127.0.0.1:{port}/"
    first = UpProcess([*COURTYARD, "up", "--demo"], env, tmp_path, tmp_path / "first.log")
    try:
        first.wait_healthy(base, timeout_s=120)
        api = Api(base, first.token())
        wait_for(api.has_readings, timeout_s=120, interval_s=1, what="readings")
        raised = wait_for(api.alerts, timeout_s=300, interval_s=1, what="an alert")
        # Every device the demo runs is named, with a confirmed kind; no alert shows an id.
        with psycopg.connect(database_url) as conn:
            devices = conn.execute(
                "SELECT device_key, name IS NOT NULL AND names ? 'zh-CN' AND kind_confirmed"
                " FROM devices"
            ).fetchall()
        assert [key for key, described in devices if not described] == []
        keys = {str(key) for key, _ in devices}
        assert [a["summary"] for a in raised if any(k in a["summary"] for k in keys)] == []
        started = first.record_tree()  # the simulator's engine process among them
        assert len(started) >= 2, first.output()
        assert first.terminate() == 0
        assert first.leftovers() == []
    finally:
        first.kill_tree()
    with psycopg.connect(database_url) as conn:
        newest = history.newest_reading(conn, load_scenario(demo.SCENARIO).site.id)
    assert newest is not None

    second = UpProcess([*COURTYARD, "up", "--demo"], env, tmp_path, tmp_path / "second.log")
    try:
        second.wait_healthy(base, timeout_s=120)
        assert Api(base, first.token()).status_of("/api/v1/alerts") == 401  # revoked
        api = Api(base, second.token())
        assert api.alerts()  # the first run's
        with psycopg.connect(database_url) as conn:
            wait_for(
                lambda: (
                    history.newest_reading(conn, load_scenario(demo.SCENARIO).site.id) != newest
                ),
                timeout_s=120,
                what="the second run's first readings",
            )
        assert second.terminate() == 0
        assert second.leftovers() == []
    finally:
        second.kill_tree()
    assert "demo: episode from" in second.output()


# -- supervision -------------------------------------------------------------------------------

_STARTED = re.compile(r"(PostgreSQL|mosquitto) started: pid (\d+), (\S+),")


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_up_restarts_its_embedded_servers_when_they_die_and_data_keeps_flowing(
    server_dir: Path, tmp_path: Path
) -> None:
    server_dir.chmod(0o755)  # the servers' account (as root) must traverse it to their data
    port = free_port()
    env = up_env(
        http_port=str(port),
        data_dir=str(server_dir),
        ingest__client_id=f"up-{uuid.uuid4().hex[:8]}",
    )
    up = UpProcess([*COURTYARD, "up"], env, tmp_path, tmp_path / "up.log")
    base = f"http://127.0.0.1:{port}/"

    def started(server: str) -> list[tuple[int, str]]:
        found = _STARTED.findall(up.output())
        return [(int(pid), url) for name, pid, url in found if name == server]

    try:
        up.wait_healthy(base, timeout_s=120)
        up.record_tree()
        for server in ("PostgreSQL", "mosquitto"):  # one after the other, each as in an OOM kill
            [(pid, url)] = started(server)
            os.kill(pid, signal.SIGKILL)
            restarted = functools.partial(lambda name: len(started(name)) == 2, server)
            wait_for(restarted, timeout_s=60, what=f"{server} restarted")
            up.record_tree()
            assert up.process.poll() is None, up.output()
            assert started(server)[-1][1] == url  # same port, same data
            assert f"{server} exited on its own" in up.output()
        database_url = started("PostgreSQL")[-1][1].rsplit("/", 1)[0] + "/courtyard"
        broker_url = started("mosquitto")[-1][1]

        # Every client found the new servers by itself: what is published now is stored.
        reading = {"ts": datetime.now(UTC).isoformat(), "readings": {"level_pct": 61.0}}
        with Publisher(broker_url) as publisher:
            publisher.publish(f"courtyard/v1/{SITE}/after-restart/telemetry", orjson.dumps(reading))
            publisher.flush()
        with psycopg.connect(database_url, autocommit=True) as conn:
            wait_for(
                lambda: (
                    conn.execute(
                        "SELECT value FROM readings_named WHERE device = 'after-restart'"
                    ).fetchall()
                    == [(61.0,)]
                ),
                timeout_s=60,
                what="the reading published after the restarts",
            )
        up.wait_healthy(base, timeout_s=30)
        assert up.terminate() == 0
        assert up.leftovers() == []
    finally:
        up.kill_tree()
