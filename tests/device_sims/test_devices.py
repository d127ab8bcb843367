"""Each facility device model stays within physical bounds and behaves like the real thing."""

from __future__ import annotations

import math

import pytest

from device_sims.devices import KINDS
from device_sims.emissions import Event, Telemetry
from tests.device_sims.sim_support import SITE, T0, run_device

# metric -> (low, high): what the physical quantity can be at all for these devices.
BOUNDS = {
    "level_pct": (0.0, 100.0),
    "pressure_bar": (0.0, 10.0),
    "current_a": (0.0, 22.5),
    "temperature_c": (-10.0, 60.0),
    "humidity_pct": (0.0, 100.0),
    "power_w": (0.0, 1e6),
    "energy_kwh": (0.0, math.inf),
    "water_m3": (0.0, math.inf),
    "flow_lpm": (0.0, 1e5),
    "vibration_rms_g": (0.0, 2.0),
    "battery_pct": (0.0, 100.0),
    "starts_per_h": (0.0, 720.0),
    "trips": (0.0, 1000.0),
    "door_cycles": (0.0, 2000.0),
    "door_open_s": (0.0, math.inf),
    "floor": (1.0, 200.0),
    "granted_count": (0.0, 1e4),
    "denied_count": (0.0, 1e4),
}
MONOTONIC = ("energy_kwh", "water_m3")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_readings_within_physical_bounds(kind: str) -> None:
    emissions = run_device(kind, days=2)
    telemetry = [e for e in emissions if isinstance(e, Telemetry)]
    assert telemetry, "every device reports"
    last: dict[str, float] = {}
    for em in telemetry:
        for metric, value in em.readings.items():
            if isinstance(value, bool):
                continue
            assert math.isfinite(value), (metric, value)
            low, high = BOUNDS[metric]
            assert low <= value <= high, (kind, metric, value)
            if metric in MONOTONIC:
                assert value >= last.get(metric, -math.inf), (metric, "decreased")
                last[metric] = value
    assert [e.ts for e in emissions] == sorted(e.ts for e in emissions)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_reporting_interval_is_kept(kind: str) -> None:
    telemetry = [e for e in run_device(kind, days=1) if isinstance(e, Telemetry)]
    interval = KINDS[kind](  # the catalogue default, within the +-2 % report jitter
        *_spec(kind)
    ).interval_s
    gaps = [b.ts - a.ts for a, b in zip(telemetry, telemetry[1:], strict=False) if b.ts > a.ts]
    assert min(gaps) >= 0.0
    assert sum(gaps) / len(gaps) == pytest.approx(interval, rel=0.05)


def _spec(kind: str) -> tuple[object, ...]:
    from device_sims.devices import DEFAULT_INTERVAL_S, DeviceSpec
    from device_sims.seeding import rng_for

    return (DeviceSpec("x", kind, DEFAULT_INTERVAL_S[kind]), SITE, rng_for(0, "x"), ())


def test_tank_saw_tooths_between_set_points() -> None:
    levels = [e.readings["level_pct"] for e in run_device("water_tank", days=3)
              if isinstance(e, Telemetry)]  # fmt: skip
    assert min(levels) > 25.0  # refills from 35 %
    assert max(levels) - min(levels) > 20.0  # it does cycle


def test_pump_cycles_more_at_the_evening_peak_than_at_night() -> None:
    starts = [e.ts for e in run_device("booster_pump", days=2) if isinstance(e, Event)
              and e.type == "pump_start"]  # fmt: skip
    hours = [SITE.local_hour(t) for t in starts]
    night = sum(1 for h in hours if 2 <= h < 4) / 4.0  # per hour, over 2 days
    evening = sum(1 for h in hours if 19 <= h < 21) / 4.0
    assert 1 <= night < evening <= 30


def test_street_light_on_at_night_off_at_noon() -> None:
    for em in run_device("street_light", days=1):
        assert isinstance(em, Telemetry)
        hour = SITE.local_hour(em.ts)
        if 1 <= hour <= 4 or 20 <= hour <= 23:
            assert em.readings["on"] is True and float(em.readings["power_w"]) > 90
        if 10 <= hour <= 15:
            assert em.readings["on"] is False and float(em.readings["power_w"]) < 1


def test_elevator_busier_at_commute_than_at_night() -> None:
    trips = [SITE.local_hour(e.ts) for e in run_device("elevator", days=3)
             if isinstance(e, Event)]  # fmt: skip
    assert sum(7 <= h < 9 for h in trips) > 5 * max(1, sum(2 <= h < 4 for h in trips))


def test_gates_use_pseudonymous_subjects() -> None:
    events = [e for e in run_device("face_gate", days=1) if isinstance(e, Event)]
    assert {e.type for e in events} == {"access_granted", "access_denied"}
    assert all(e.subject is not None and e.subject.startswith("face:") for e in events)
    denied = sum(e.type == "access_denied" for e in events) / len(events)
    assert 0.005 < denied < 0.08


def test_unit_door_events_pair_up() -> None:
    events = [e for e in run_device("unit_door", days=2) if isinstance(e, Event)]
    kinds = [e.type for e in events]
    assert kinds == ["door_open", "door_closed"] * (len(kinds) // 2)
    assert events[0].ts >= T0
