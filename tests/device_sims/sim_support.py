"""Helpers for simulator tests: run a device model or a scenario in simulated time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from device_sims.devices import DEFAULT_INTERVAL_S, KINDS, DeviceSpec, Site
from device_sims.emissions import Emission
from device_sims.faults import Fault
from device_sims.seeding import rng_for

SITE = Site("test-site", ZoneInfo("Asia/Shanghai"))
#: Monday 2025-03-03 00:00 local.
T0 = datetime(2025, 3, 3, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()


def run_device(kind: str, days: float = 2.0, faults: Sequence[Fault] = (), seed: int = 1,
               params: dict[str, float | str] | None = None) -> list[Emission]:  # fmt: skip
    spec = DeviceSpec(f"{kind}-1", kind, DEFAULT_INTERVAL_S[kind], None, params or {})
    model = KINDS[kind](spec, SITE, rng_for(seed, spec.id), faults)
    t, end = T0, T0 + days * 86_400.0
    out: list[Emission] = []
    while t < end:
        emissions, t = model.wake(t)
        out.extend(emissions)
    return sorted(out, key=lambda e: e.ts)
