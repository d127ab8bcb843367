"""SSE across processes: two API processes, alert changes committed through
store.alerts.transitions (as the rules engine commits them), each subscriber of either process gets
exactly what it may see.

Changes are committed one after another, so each process hears them in commit order and each
subscriber's queue keeps it: every subscriber's last expected change is committed after changes
of every kind foreign to it, so a leak would arrive before it and break the exact comparison.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg
import pytest

from api import cli
from store.access.users import NewUser
from store.alerts import transitions
from store.settings import StoreSettings
from tests.api.world import NOW, World
from tests.support.processes import courtyard_env
from tests.support.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ApiProcess:
    def __init__(self, url: str, log: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.api.serve_app", url, str(self.port)],
            cwd=REPO,
            env=courtyard_env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise AssertionError("the API process did not stop on SIGTERM") from None
        finally:
            self._log.close()


class Subscriber(threading.Thread):
    """Reads `expected` SSE events of one stream, then hangs up."""

    def __init__(self, base: str, token: str, expected: int) -> None:
        super().__init__(daemon=True)
        self.url, self.token, self.expected = f"{base}/api/v1/stream", token, expected
        self.connected = threading.Event()
        self.events: list[dict[str, object]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            headers = {"Authorization": f"Bearer {self.token}"}
            with httpx.stream("GET", self.url, headers=headers, timeout=30) as response:
                assert response.status_code == 200, response.read()
                self.connected.set()
                fields: dict[str, str] = {}
                for line in response.iter_lines():
                    if line:
                        name, _, value = line.partition(":")
                        fields[name] = value.strip()
                        continue
                    if "data" in fields:
                        self.events.append({"id": fields.get("id"), **json.loads(fields["data"])})
                    fields = {}
                    if len(self.events) >= self.expected:
                        return
        except BaseException as exc:  # reported by the test
            self.error = exc
            self.connected.set()


@pytest.fixture
def processes(database_url: str, world: World, tmp_path: Path) -> Iterator[list[ApiProcess]]:
    started = [ApiProcess(database_url, tmp_path / f"api-{n}.log") for n in range(2)]
    try:
        for process in started:
            wait_for(process.healthy, timeout_s=60, what=f"API on port {process.port}")
        yield started
    finally:
        for process in started:
            process.stop()


def _raise(url: str, site: str, subject: str, household: str | None, category: str) -> int:
    """One alert change, committed on its own, as the rules engine commits one."""
    with psycopg.connect(url) as conn:
        alert, change = transitions.raise_or_repeat(
            conn,
            dedup_key=f"stream-test:{site}:{subject}",
            rule_id="stream-test",
            site_id=site,
            subject=subject,
            household_id=household,
            category=category,
            severity="critical",
            summary_key="{subject} raised in the stream test",
            summary_args={"subject": subject},
            value=None,
            metric=None,
            at=NOW + timedelta(seconds=1),
            actor="rule:stream-test",
        )
    return change.id


def test_changes_reach_both_processes_scoped(
    database_url: str, world: World, processes: list[ApiProcess]
) -> None:
    store = StoreSettings(url=database_url)
    cli.add_user(
        store, NewUser(user_id="beta-manager", name="Beta", role="manager", sites=["beta"])
    )
    beta_token, _ = cli.create_token(store, user_id="beta-manager", name="t", days=1)
    a, b = processes
    subscribers = {
        "volunteer@a": Subscriber(a.base, world.tokens["volunteer"], expected=1),
        "manager@b": Subscriber(b.base, world.tokens["manager"], expected=3),
        "beta@a": Subscriber(a.base, beta_token, expected=2),
        "beta@b": Subscriber(b.base, beta_token, expected=2),
    }
    for subscriber in subscribers.values():
        subscriber.start()
    for name, subscriber in subscribers.items():
        assert subscriber.connected.wait(30), name
        assert subscriber.error is None, (name, subscriber.error)

    beta1 = _raise(database_url, "beta", "beta-facility-pump", None, "maintenance")
    theirs = _raise(database_url, "alpha", "alpha-theirs", "alpha-theirs", "care")
    facility = _raise(database_url, "alpha", "alpha-facility-pump", None, "maintenance")
    mine = _raise(database_url, "alpha", "alpha-mine", "alpha-mine", "care")
    beta2 = _raise(database_url, "beta", "beta-home", "beta-home", "care")

    for name, subscriber in subscribers.items():
        subscriber.join(60)
        assert not subscriber.is_alive(), f"{name} got {subscriber.events}"
        assert subscriber.error is None, (name, subscriber.error)
    received = {name: [int(str(e["id"])) for e in s.events] for name, s in subscribers.items()}
    assert received == {
        "volunteer@a": [mine],
        "manager@b": [theirs, facility, mine],
        "beta@a": [beta1, beta2],
        "beta@b": [beta1, beta2],
    }
    volunteer_event = subscribers["volunteer@a"].events[0]
    assert volunteer_event["alert"]["household_id"] == "alpha-mine"  # type: ignore[index]
    assert volunteer_event["change"]["change"] == "raised"  # type: ignore[index]


def test_reconnect_with_last_event_id_catches_up(
    database_url: str, world: World, processes: list[ApiProcess]
) -> None:
    a, _ = processes
    first = _raise(database_url, "alpha", "alpha-mine", "alpha-mine", "care")
    _raise(database_url, "beta", "beta-home", "beta-home", "care")
    with psycopg.connect(database_url) as conn:
        mine = conn.execute(
            "SELECT id FROM alerts WHERE dedup_key = 'stream-test:alpha:alpha-mine'"
        ).fetchone()
        assert mine is not None
        missed = transitions.comment(
            conn, mine[0], text="seen from the window", actor="user:admin", at=NOW
        ).id
    headers = {
        "Authorization": f"Bearer {world.tokens['volunteer']}",
        "Last-Event-ID": str(first),
    }
    with httpx.stream("GET", f"{a.base}/api/v1/stream", headers=headers, timeout=30) as response:
        data_lines = (line for line in response.iter_lines() if line.startswith("id:"))
        assert int(next(data_lines).removeprefix("id:").strip()) == missed
