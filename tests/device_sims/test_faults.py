"""Faults and incidents change what devices and homes emit, from their start time on."""

from __future__ import annotations

import math

import orjson
import pytest

from device_sims.emissions import Event, Raw, StatusChange, Telemetry
from device_sims.engine import simulate
from device_sims.faults import Fault, SignalFaults
from device_sims.households.home_kit import Household, HouseholdSpec
from device_sims.scenario import load_scenario
from device_sims.seeding import rng_for
from ingest.wire import Status
from tests.device_sims.sim_support import SITE, T0, run_device

H = 3600.0
DAY = 86_400.0


def _values(emissions: list, metric: str, lo: float, hi: float) -> list[float]:  # type: ignore[type-arg]
    return [float(e.readings[metric]) for e in emissions
            if isinstance(e, Telemetry) and metric in e.readings and lo <= e.ts < hi]  # fmt: skip


def test_pump_dry_run_low_current_no_pressure() -> None:
    fault = Fault("pump_dry_run", "booster_pump-1", T0 + 10 * H, T0 + 12 * H)
    out = run_device("booster_pump", days=1, faults=[fault])
    before = [c for c in _values(out, "current_a", T0, T0 + 10 * H) if c > 0]
    during = _values(out, "current_a", T0 + 10.5 * H, T0 + 12 * H)
    assert min(before) > 5.0 and max(during) < 3.5
    assert max(_values(out, "pressure_bar", T0 + 10.5 * H, T0 + 12 * H)) < 1.0


def test_pump_failure_bleeds_pressure() -> None:
    fault = Fault("pump_failure", "booster_pump-1", T0 + 10 * H)
    out = run_device("booster_pump", days=1, faults=[fault])
    assert max(_values(out, "pressure_bar", T0 + 12 * H, T0 + DAY)) < 0.5
    assert not [
        e for e in out if isinstance(e, Event) and e.type == "pump_start" and e.ts > T0 + 10 * H
    ]


def test_tank_leak_drains_steadily() -> None:
    fault = Fault("tank_leak", "water_tank-1", T0 + 2 * H, params={"rate_pct_h": 20})
    levels = _values(
        run_device("water_tank", days=1, faults=[fault]), "level_pct", T0 + 2 * H, T0 + 8 * H
    )
    assert levels[-1] < levels[0] - 30


def test_elevator_door_stuck() -> None:
    fault = Fault("elevator_door_stuck", "elevator-1", T0 + 8 * H, T0 + 9 * H)
    out = run_device("elevator", days=1, faults=[fault])
    # The first interval summary after 08:00 may still describe the minute before it.
    stuck = [e for e in out if isinstance(e, Telemetry) and T0 + 8 * H + 120 <= e.ts < T0 + 9 * H]
    assert all(e.readings["door_open"] is True and e.readings["trips"] == 0 for e in stuck)
    assert max(float(e.readings["door_open_s"]) for e in stuck) > 3000


def test_overheating_crosses_35c_within_an_hour() -> None:
    fault = Fault("overheating", "equipment_room-1", T0 + 14 * H)
    temps = _values(
        run_device("equipment_room", days=1, faults=[fault]),
        "temperature_c",
        T0 + 15 * H,
        T0 + 16 * H,
    )
    assert temps and min(temps) > 35


def test_lamp_failure_visible_at_night() -> None:
    fault = Fault("lamp_failure", "street_light-1", T0)
    night = _values(
        run_device("street_light", days=1, faults=[fault]), "power_w", T0 + 20 * H, T0 + 23 * H
    )
    assert max(night) < 2.0


def test_smoke_alarm_event_at_its_start() -> None:
    fault = Fault("smoke_alarm", "smoke_detector-1", T0 + 19 * H + 123.0, T0 + 20 * H)
    alarms = [
        e for e in run_device("smoke_detector", days=1, faults=[fault]) if isinstance(e, Event)
    ]
    assert [e.ts for e in alarms] == [T0 + 19 * H + 123.0]


@pytest.mark.parametrize(
    ("kind", "params", "check"),
    [
        ("stuck_value", {"metric": "level_pct"}, lambda vs, raws: len(set(vs)) == 1),
        ("drift", {"metric": "level_pct", "rate_per_h": 50.0}, lambda vs, raws: vs[-1] > 150),
        ("malformed", {}, lambda vs, raws: not vs and raws),
        ("dropout", {}, lambda vs, raws: not vs and not raws),
    ],
)  # fmt: skip
def test_signal_faults(kind: str, params: dict[str, float | str], check: object) -> None:
    fault = Fault(kind, "water_tank-1", T0 + H, T0 + 4 * H, params)
    faults = SignalFaults([fault])
    out = [faults.apply(e) for e in run_device("water_tank", days=0.25)]
    inside = [e for e in out if e is not None and T0 + H <= e.ts < T0 + 4 * H]
    values = _values(inside, "level_pct", 0, math.inf)
    raws = [e for e in inside if isinstance(e, Raw)]
    assert check(values, raws)  # type: ignore[operator]
    after = [e for e in out if e is not None and e.ts >= T0 + 4 * H]
    assert after and all(isinstance(e, Telemetry) for e in after)


def test_malformed_payloads_are_not_valid_wire_format() -> None:
    scenario = load_scenario("incident-malformed").with_overrides(duration_s=DAY + 12 * H)
    bad = [m for m in simulate(scenario) if m.channel == "malformed"]
    assert len(bad) == 4  # a 15-minute meter during one hour
    for m in bad:
        try:
            body = orjson.loads(m.payload)
        except orjson.JSONDecodeError:
            continue
        readings = body.get("readings", {}) if isinstance(body, dict) else {}
        assert not readings or any(not isinstance(v, int | float) for v in readings.values())


def test_battery_low_and_clock_skew() -> None:
    low = SignalFaults(
        [Fault("battery_low", "smoke_detector-1", T0, T0 + DAY, {"from_pct": 15, "to_pct": 3})]
    )
    out = [low.apply(e) for e in run_device("smoke_detector", days=1)]
    battery = _values([e for e in out if e], "battery_pct", 0, math.inf)
    assert battery[0] == 15 and battery[-1] <= 4 and battery == sorted(battery, reverse=True)
    skew = SignalFaults([Fault("clock_skew", "smoke_detector-1", T0, T0 + DAY, {"offset_s": 3600})])
    shifted = [skew.apply(e) for e in run_device("smoke_detector", days=0.5)]
    assert all(e is not None and e.ts >= T0 + 3600 for e in shifted)


def test_dropout_publishes_retained_offline_then_online() -> None:
    scenario = load_scenario("incident-dropout").with_overrides(duration_s=2 * DAY)
    statuses = [m for m in simulate(scenario) if "b01-wmeter-01/status" in m.topic]
    assert [m.payload for m in statuses] == [b"online", b"offline", b"online"]
    assert all(m.retain for m in statuses)
    t_off, t_on = statuses[1].ts, statuses[2].ts
    assert t_on - t_off == 3 * H
    silent = [
        m
        for m in simulate(scenario)
        if "b01-wmeter-01/telemetry" in m.topic and t_off <= m.ts < t_on
    ]
    assert not silent


def _home(*incidents: Fault) -> list[Event | Telemetry]:
    spec = HouseholdSpec("hh-1", "Room", ("bedroom", "bathroom", "kitchen", "living"),
                         frozenset({"door", "bed", "water", "kettle", "sos"}))  # fmt: skip
    home = Household(spec, SITE, rng_for(3, "hh-1"), incidents)
    t, out = T0, []
    for _ in range(3):
        emissions, t = home.wake(t)
        out.extend(e for e in emissions if isinstance(e, Event | Telemetry))
    return sorted(out, key=lambda e: e.ts)


def _activity(out: list[Event | Telemetry], lo: float, hi: float) -> list[Event]:
    return [e for e in out if isinstance(e, Event) and lo <= e.ts < hi and e.type != "sos"]


def test_no_wake_up_means_silence_in_bed() -> None:
    out = _home(Fault("no_wake_up", "hh-1", T0 + DAY, T0 + DAY + 13 * H))
    assert not _activity(out, T0 + DAY, T0 + DAY + 13 * H)
    assert _activity(out, T0 + DAY + 13 * H, T0 + 2 * DAY)  # life goes on once helped


def test_fall_stops_activity_abruptly() -> None:
    at = T0 + DAY + 10.5 * H
    out = _home(Fault("fall", "hh-1", at, at + 6 * H))
    assert _activity(out, at - 3 * H, at)
    assert not _activity(out, at, at + 6 * H)


def test_night_wandering_opens_the_door_at_3am() -> None:
    at = T0 + DAY + 3 * H
    out = _home(Fault("night_wandering", "hh-1", at, at + 40 * 60))
    doors = [e for e in _activity(out, at - H, at + H) if e.type == "door_open"]
    assert [d.ts for d in doors] == [at, at + 40 * 60]


def test_sos_press() -> None:
    at = T0 + DAY + 16 * H
    out = _home(Fault("sos", "hh-1", at, at))
    assert [e.ts for e in out if isinstance(e, Event) and e.type == "sos"] == [at]


def test_sos_on_zigbee2mqtt_is_action_then_reset() -> None:
    scenario = load_scenario("incident-sos").with_overrides(duration_s=DAY + 17 * H)
    sos = [orjson.loads(m.payload) for m in simulate(scenario) if m.topic.endswith("SOS button")]
    actions = [p["action"] for p in sos if "action" in p]
    assert actions == ["emergency", ""]


def test_long_absence_is_announced_by_the_door() -> None:
    at = T0 + 9 * H
    out = _home(Fault("long_absence", "hh-1", at, at + 2 * DAY))
    # Leaving: the door at `at` (or earlier, when the visit starts from the morning outing).
    assert [e.type for e in _activity(out, at - 3 * H, at + 60) if e.type == "door_open"]
    assert not _activity(out, at + 60, at + 2 * DAY)
    back = [e.type for e in _activity(out, at + 2 * DAY, at + 2 * DAY + 60)]
    assert back[:2] == ["door_open", "door_closed"]


def test_status_change_passes_dropout() -> None:
    faults = SignalFaults([Fault("dropout", "d", 0.0, 10.0)])
    assert faults.apply(StatusChange(1.0, "d", Status.OFFLINE)) is not None
    assert faults.apply(Telemetry(1.0, "d", {"x": 1.0})) is None
