"""courtyard.supervisor: an embedded server that dies is started again, at once the first time,
then with growing waits while it keeps dying, and at once again after a stable minute."""

from __future__ import annotations

import os
import signal

import pytest

from courtyard.embedded import EmbeddedMosquitto
from courtyard.supervisor import Supervisor
from tests.support.waiting import wait_for


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def crash(broker: EmbeddedMosquitto) -> int:
    """SIGKILL from outside, as an OOM kill would; returns the pid that died."""
    pid = broker.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: broker.pid is None, timeout_s=10, what="the broker to die")
    return pid


def test_a_dead_broker_is_restarted_with_growing_waits_while_it_keeps_dying(
    fresh_broker: EmbeddedMosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    supervisor = Supervisor(clock)
    supervisor.watch("mosquitto", fresh_broker)
    first = fresh_broker.pid
    supervisor.poll()
    assert fresh_broker.pid == first  # running: left alone

    crash(fresh_broker)
    supervisor.poll()  # the first restart is immediate
    assert fresh_broker.pid not in (None, first)
    assert "mosquitto exited on its own (exit code -9)" in caplog.text

    crash(fresh_broker)  # dies again right away: the next restart waits 1 s
    supervisor.poll()
    assert fresh_broker.pid is None
    clock.now += 1.0
    supervisor.poll()
    assert fresh_broker.pid is not None

    crash(fresh_broker)  # and again: 2 s
    clock.now += 1.5
    supervisor.poll()
    assert fresh_broker.pid is None
    clock.now += 0.5
    supervisor.poll()
    assert fresh_broker.pid is not None

    clock.now += 60.0  # up for a minute: stable again
    supervisor.poll()
    crash(fresh_broker)
    supervisor.poll()
    assert fresh_broker.pid is not None
    assert caplog.text.count("mosquitto restarted") == 4
