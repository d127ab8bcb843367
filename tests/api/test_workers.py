"""`courtyard api` with COURTYARD_API__WORKERS: several processes on one port, stopped together.

Each worker opens its own pools and alert listener after the fork, so the database shows one
listener per worker; SIGTERM stops them all, and a worker that dies stops the others too.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from api.feed import LISTENER_NAME
from tests.support.processes import courtyard_env
from tests.support.waiting import wait_for


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Api:
    """`python -m courtyard api` with two workers."""

    def __init__(self, url: str, log: Path) -> None:
        self.url = url
        self.port = _free_port()
        self._log = log.open("wb")
        env = courtyard_env(database_url=url, http_port=str(self.port), api__workers="2")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "courtyard", "api"],
            cwd=log.parent,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def healthy(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def workers(self) -> list[int]:
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children")
        return [int(p) for p in children.read_text().split()] if children.exists() else []

    def listeners(self) -> int:
        with psycopg.connect(self.url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND application_name = %s",
                (LISTENER_NAME,),
            ).fetchone()
        assert row is not None
        return int(row[0])

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        for pid in self.workers():
            os.kill(pid, signal.SIGKILL)
        self._log.close()


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    started = Api(database_url, tmp_path / "api.log")
    try:
        wait_for(started.healthy, timeout_s=60, what="the API's /healthz")
        wait_for(lambda: started.listeners() == 2, timeout_s=30, what="a listener per worker")
        yield started
    finally:
        started.close()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_two_workers_answer_on_one_port_and_stop_on_sigterm(api: Api) -> None:
    workers = api.workers()
    assert len(workers) == 2
    with httpx.Client(base_url=f"http://127.0.0.1:{api.port}") as client:
        assert all(client.get("/healthz").status_code == 200 for _ in range(20))
        assert client.get("/api/v1/alerts").status_code == 401  # the whole app in each
    api.process.send_signal(signal.SIGTERM)
    assert api.process.wait(30) == 0
    assert all(_gone(pid) for pid in workers)
    wait_for(lambda: api.listeners() == 0, timeout_s=10, what="the listeners to close")


def test_a_worker_that_dies_stops_the_others(api: Api) -> None:
    first, second = api.workers()
    os.kill(first, signal.SIGKILL)
    assert api.process.wait(30) == 1
    assert _gone(second)
