"""Test support for `courtyard up` run as a real process: its output, its process tree, its API."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import psutil

from tests.support.waiting import wait_for

#: What `courtyard up` prints when an embedded server has started (courtyard.embedded).
_SERVER_PID = re.compile(r"(?:PostgreSQL|mosquitto|iotcore) started: pid (\d+)")
_TOKEN = re.compile(r"API token of \S+, valid \d+ days: (\S+)")
_DASHBOARD = re.compile(r"The dashboard is at (http://\S+)")


def english(env: dict[str, str]) -> dict[str, str]:
    """`env` with the CLI's language pinned to English (the tests read its sentences)."""
    return {**env, "LANGUAGE": "en", "LC_ALL": "C.UTF-8"}


def gone(pid: int) -> bool:
    """No such process, or only a zombie left for a parent (or a container's init) to reap."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


class UpProcess:
    """A `courtyard up` (or any command that ends up running it), its output in a log file."""

    def __init__(self, argv: Sequence[str], env: dict[str, str], cwd: Path, log_path: Path) -> None:
        self.log_path = log_path
        with log_path.open("ab") as log:
            # Its own session: a terminal's Ctrl-C never reaches it, only what the test sends.
            self.process = subprocess.Popen(
                list(argv), env=env, cwd=cwd, stdout=log, stderr=log, start_new_session=True
            )
        self.seen: set[int] = set()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_healthy(self, base_url: str, timeout_s: float) -> None:
        def healthy() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"courtyard exited early:\n{self.output()[-4000:]}")
            try:
                return httpx.get(base_url + "healthz", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, timeout_s=timeout_s, interval_s=0.5, what=f"{base_url}healthz")

    def courtyard_pid(self) -> int:
        """The `courtyard up` process: the one started, or (under a shell) its descendant."""
        root = psutil.Process(self.process.pid)
        for proc in [root, *root.children(recursive=True)]:
            try:
                cmdline = proc.cmdline()
            except psutil.NoSuchProcess:
                continue
            if "up" in cmdline and any("courtyard" in part for part in cmdline):
                return proc.pid
        raise AssertionError(f"no `courtyard up` under pid {root.pid}")

    def record_tree(self) -> set[int]:
        """Every process it started so far (children of children included), remembered, plus
        the embedded servers it announced."""
        root = psutil.Process(self.process.pid)
        pids = {root.pid, *(p.pid for p in root.children(recursive=True))}
        pids |= {int(pid) for pid in _SERVER_PID.findall(self.output())}
        self.seen |= pids
        return pids

    def terminate(
        self, pid: int | None = None, timeout_s: float = 90.0, sig: int = signal.SIGTERM
    ) -> int:
        """SIGTERM (or `sig`) to `pid` (default: the process started), then wait for the
        process started."""
        os.kill(pid or self.process.pid, sig)
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"did not stop within {timeout_s} s:\n{self.output()}") from None

    def kill_tree(self) -> None:
        """Clean-up after a failed test: whatever is left of what it started."""
        for pid in self.seen | {self.process.pid}:
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)

    def leftovers(self) -> list[str]:
        """What is still running of everything it ever started (waits a little for exits)."""
        deadline = time.monotonic() + 15
        while True:
            left = [pid for pid in sorted(self.seen) if not gone(pid)]
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        return [_describe(pid) for pid in left]

    def token(self) -> str:
        found = _TOKEN.search(self.output())
        assert found, f"no demo token printed:\n{self.output()}"
        return found.group(1)

    def dashboard_url(self) -> str:
        found = _DASHBOARD.search(self.output())
        assert found, f"no dashboard URL printed:\n{self.output()}"
        return found.group(1)


def _describe(pid: int) -> str:
    try:
        return f"{pid} {' '.join(psutil.Process(pid).cmdline())}"
    except psutil.Error:
        return str(pid)


class Api:
    """The API with a bearer token."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(self.base_url + path, params=params, headers=self._headers, timeout=30)
        response.raise_for_status()
        return response.json()

    def status_of(self, path: str) -> int:
        return httpx.get(self.base_url + path, headers=self._headers, timeout=30).status_code

    def alerts(self) -> list[dict[str, Any]]:
        """Every alert the caller sees, all pages."""
        found: list[dict[str, Any]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 200}
            if cursor:
                params["cursor"] = cursor
            page = self.get("/api/v1/alerts", **params)
            found += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return found

    def has_readings(self) -> bool:
        """Some device has a latest value."""
        for device in self.get("/api/v1/devices", limit=50)["items"]:
            latest = self.get(f"/api/v1/devices/{device['id']}/latest")
            if any(v["value"] is not None for v in latest["values"]):
                return True
        return False
