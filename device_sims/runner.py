"""Runs a scenario into a sink, paced by a clock (speed) and a rate limit, and sums it up."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime

from device_sims.clock import Clock, SimulatedClock
from device_sims.emissions import Outgoing
from device_sims.engine import simulate
from device_sims.engine_process import EngineProcess
from device_sims.scenario import Scenario
from device_sims.sinks import Sink
from device_sims.summary import RunSummary, Tally

#: Pace-keeping granularity: the clock is consulted when simulated time has moved this far,
#: not for every message, so pacing costs nothing at high speeds.
_PACE_STEP_S = 0.05


def run(
    scenario: Scenario,
    sink: Sink,
    clock: Clock | None = None,
    rate: float = 0.0,
    qos: int = 1,
    progress: Callable[[float, int], None] | None = None,
    in_child: bool = False,
) -> RunSummary:
    """Send every message of `scenario` to `sink`, then close it.

    `clock` paces simulated time (a SimulatedClock with speed N runs N simulated seconds per
    real second; speed 0 or None: as fast as possible). `rate` caps messages per real second
    (0: no cap). `progress(sim_seconds_done, messages)` is called about 10 times per second.
    What is sent never depends on pacing: only when. `in_child` computes the messages in a
    child process (`EngineProcess`), leaving this one free to publish: same messages, same order.
    Rate-limit pauses go through `sink.idle`; give `clock` the sink's `idle` as its sleep
    (`SimulatedClock(..., sleep=sink.idle)`) so that pacing pauses do too.
    """
    clock = clock or SimulatedClock(scenario.start, 0.0)
    tally = Tally()
    t0 = scenario.start.timestamp()
    started = time.monotonic()
    next_progress = started
    paced_until = -1.0
    sent = 0
    source: AbstractContextManager[Iterator[Outgoing]] = (
        EngineProcess(scenario, qos) if in_child else nullcontext(simulate(scenario, qos))
    )
    with source as messages:
        for message in messages:
            if message.ts > paced_until:
                clock.sleep_until(datetime.fromtimestamp(message.ts, UTC))
                paced_until = message.ts + _PACE_STEP_S
            if rate > 0:
                ahead = sent / rate - (time.monotonic() - started)
                if ahead > 0.001:
                    sink.idle(ahead)
            sink.send(message)
            tally.add(message)
            sent += 1
            if progress is not None and sent % 256 == 0 and time.monotonic() >= next_progress:
                progress(message.ts - t0, sent)
                next_progress = time.monotonic() + 0.1
    confirmed = sink.close()
    if progress is not None:
        progress(scenario.duration_s, sent)
    return tally.summary(scenario, confirmed, time.monotonic() - started)
