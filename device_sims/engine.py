"""The event-time simulation: a heap of device wake-ups and pending emissions, in time order."""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from device_sims.community import Community, Source, build
from device_sims.devices import DeviceModel
from device_sims.emissions import Emission, Outgoing
from device_sims.households.home_kit import Household
from device_sims.scenario import Scenario


def simulate(scenario: Scenario, qos: int = 1) -> Iterator[Outgoing]:
    """Every message of the scenario, in simulated-time order, ending at `scenario.end`.

    Deterministic: the order of equal timestamps is the order things were scheduled, every
    random draw comes from a per-device generator seeded from (scenario seed, device id), and
    nothing here looks at the wall clock. How fast the messages are consumed changes nothing.
    """
    community = build(scenario, qos)
    yield from run_heap(community, scenario.start.timestamp(), scenario.end.timestamp())


def run_heap(community: Community, start: float, end: float) -> Iterator[Outgoing]:
    # Entries are (ts, seq, item): seq breaks ties deterministically and keeps items uncompared.
    heap: list[tuple[float, int, Source | Emission]] = []
    seq = 0
    for scheduled in community.scheduled:
        heap.append((scheduled.ts, seq, scheduled))
        seq += 1
    for source in community.sources:
        heap.append((round(start + source.first_offset_s, 3), seq, source))
        seq += 1
    heapq.heapify(heap)
    faults = community.signal_faults
    encode = community.encoder.encode
    push, pop = heapq.heappush, heapq.heappop
    while heap:
        ts, _, item = pop(heap)
        if ts >= end:
            break
        if isinstance(item, DeviceModel | Household):
            emissions, wake = item.wake(ts)
            for em in emissions:
                # A source emits nothing before its wake time, so global order holds.
                push(heap, (em.ts, seq, em))
                seq += 1
            if wake < end:
                push(heap, (wake, seq, item))
                seq += 1
            continue
        fault = faults.get(item.device)
        if fault is None:
            yield from encode(item)
            continue
        transformed = fault.apply(item)
        if transformed is not None:
            yield from encode(transformed)
