"""One embedded server as a child process: spawn, wait until ready, stop, die with the parent.

Both servers listen on 127.0.0.1 only and keep everything under the `data_dir` they are given.
They run as direct children of this process (never daemonized), in their own process group, so
that:

* `stop()` sends the server its clean-shutdown signal and waits for it (PostgreSQL: SIGINT, a
  "fast" shutdown; Mosquitto: SIGTERM, which also writes its persistence file);
* Ctrl-C in a terminal reaches only us; we stop the servers in order, after draining;
* on Linux, if this process dies, even by SIGKILL, the kernel sends the server that same signal
  (PR_SET_PDEATHSIG): no orphans. The signal fires when the *thread* that started the server
  exits, so start servers from a thread that lives as long as they should (the main thread).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

from courtyard.embedded.accounts import Account, EmbeddedError

logger = logging.getLogger(__name__)

START_TIMEOUT_S = 60.0
#: A fast shutdown checkpoints; under load on slow disks that can take a while.
STOP_TIMEOUT_S = 60.0
_POLL_S = 0.05
_PR_SET_PDEATHSIG = 1


def _die_with_parent(sig: signal.Signals) -> Callable[[], None] | None:
    """A preexec_fn that makes the child receive `sig` when we die (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before fork: no loading in child
    parent = os.getpid()

    def preexec() -> None:
        # Runs after Popen switched uid/gid: a credential change would clear the setting.
        if prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0 or os.getppid() != parent:
            os._exit(126)  # cannot guard against orphaning, or the parent is already gone

    return preexec


class Child:
    """One server process: spawn as `account`, log to a file, stop with a signal, then wait."""

    def __init__(self, name: str, log_path: Path, stop_signal: signal.Signals) -> None:
        self.name = name
        self.log_path = log_path
        self.stop_signal = stop_signal
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def spawn(self, argv: list[str], account: Account | None, cwd: Path) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                process_group=0,
                user=None if account is None else account.uid,
                group=None if account is None else account.gid,
                extra_groups=None if account is None else [],
                preexec_fn=_die_with_parent(self.stop_signal),
            )

    def wait_ready(self, ready: Callable[[], bool], timeout_s: float) -> None:
        """Poll `ready` until it holds; raise with the log's tail if the child exits or stalls."""
        deadline = time.monotonic() + timeout_s
        try:
            while not ready():
                code = None if self.process is None else self.process.poll()
                if code is not None:
                    raise EmbeddedError(
                        f"{self.name} exited with code {code} while starting\n{self.tail()}"
                    )
                if time.monotonic() > deadline:
                    raise EmbeddedError(
                        f"{self.name} not ready after {timeout_s:.0f} s\n{self.tail()}"
                    )
                time.sleep(_POLL_S)
        except BaseException:
            self.stop()
            raise

    def stop(self, sig: signal.Signals | None = None, timeout_s: float = STOP_TIMEOUT_S) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        sig = sig or self.stop_signal
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                logger.warning("%s pid %s ignored %s; killing it", self.name, process.pid, sig.name)
                process.kill()
                process.wait()
        logger.info("%s stopped (pid %s, exit code %s)", self.name, process.pid, process.returncode)

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            return f"(no log at {self.log_path}: {exc})"
        return f"last lines of {self.log_path}:\n" + "\n".join(text.splitlines()[-lines:])


class ChildServer:
    """What both embedded servers share: one `Child` process, its pid and log, and the order
    of start and stop. A subclass sets `_child` and `_crash_signal` and implements `start`."""

    _child: Child
    #: The signal `kill()` sends: an immediate stop with no clean-up.
    _crash_signal: signal.Signals = signal.SIGKILL

    @property
    def pid(self) -> int | None:
        process = self._child.process
        return process.pid if process is not None and process.poll() is None else None

    @property
    def exit_code(self) -> int | None:
        """How a server that ended without `stop()` exited; None while it runs (or never ran)."""
        process = self._child.process
        return None if process is None else process.poll()

    @property
    def log_path(self) -> Path:
        return self._child.log_path

    def start(self, timeout_s: float = START_TIMEOUT_S) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        """Stop cleanly with the server's own stop signal, and wait for it."""
        self._child.stop()

    def kill(self) -> None:
        """Crash it, as a power cut or an OOM kill would; `start()` then recovers."""
        self._child.stop(self._crash_signal)

    def restart(self, timeout_s: float = START_TIMEOUT_S) -> None:
        self.stop()
        self.start(timeout_s)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
