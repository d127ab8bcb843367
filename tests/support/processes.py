"""CourtyardProcess: a `courtyard` subcommand run as a real process, to kill and restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from courtyard.settings import ENV_PREFIX

_TEST_DATABASE_ENV = "COURTYARD_TEST_DATABASE_URL"


def courtyard_env(**settings: str) -> dict[str, str]:
    """The environment for a child process: ours without COURTYARD_*, plus these settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(ENV_PREFIX) or k == _TEST_DATABASE_ENV
    }
    env.update({ENV_PREFIX + name.upper(): value for name, value in settings.items()})
    return env


class CourtyardProcess:
    def __init__(self, args: list[str], env: dict[str, str], workdir: Path, name: str) -> None:
        self._argv = [sys.executable, "-m", "courtyard", *args]
        self._env = env
        self._workdir = workdir  # no stray .env file there
        self.log_path = workdir / f"{name}.log"
        self._process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts}\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                self._argv, env=self._env, cwd=self._workdir, stdout=log, stderr=log
            )

    def kill(self) -> None:
        """SIGKILL: no cleanup, no last acknowledgements, as in a crash or an OOM kill."""
        assert self._process is not None
        self._process.send_signal(signal.SIGKILL)
        self._process.wait(10)

    def terminate(self, timeout_s: float = 30.0) -> int:
        """SIGTERM and wait; a process that does not stop in time is killed and the test fails."""
        assert self._process is not None
        self._process.send_signal(signal.SIGTERM)
        try:
            return self._process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(10)
            raise AssertionError(f"{self._argv[3:]} did not stop within {timeout_s} s") from None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")
