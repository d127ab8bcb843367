"""rules.registry: every kind compiles; scope, category, severity and household subjects are
applied; night activity per household; the default rule set covers every scenario's alerts."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from importlib import resources
from typing import Any

import pytest

from device_sims.scenario import load_scenario
from rules.arrays import BatchView, view_of
from rules.definitions import RuleDefinition, load_rules_file, parse_rules
from rules.directory import DeviceInfo, Directory, HouseholdInfo
from rules.registry import (
    CompiledRule,
    RuleCompileError,
    compile_rule,
    compile_rules,
)
from rules.rule import Category, RuleState, Severity, Signal, SignalState
from store.records import Event, Reading

SITE = "sunny-court"
# 02:00 in Shanghai, 00:00 in Urumqi.
NIGHT = datetime(2025, 3, 3, 18, 0, tzinfo=UTC)

DIRECTORY = Directory.of(
    households=[
        HouseholdInfo(
            SITE,
            "hh-01",
            timezone="Asia/Shanghai",
            devices=("hh-01-door", "hh-01-sos", "hh-01-fridge"),
        ),
        # Its own quiet hours (23:00-01:00 in its zone): 02:00 is not quiet there.
        HouseholdInfo(
            SITE,
            "hh-02",
            timezone="Asia/Shanghai",
            quiet_start=time(23),
            quiet_end=time(1),
            devices=("hh-02-door",),
        ),
    ],  # fmt: skip
    devices=[
        DeviceInfo(SITE, "pump-01", "booster_pump"),
        DeviceInfo(SITE, "pump-02", "other"),
        DeviceInfo(SITE, "hh-01-door", "door_contact", role="front_door"),
        DeviceInfo(SITE, "hh-01-sos", "sos_button", role="sos"),
        DeviceInfo(SITE, "hh-01-fridge", "door_contact", role="other_door", role_room="fridge"),
        DeviceInfo(SITE, "hh-02-door", "door_contact", role="front_door"),
    ],
    site_timezones={SITE: "Asia/Shanghai"},
)


def rule(text: str) -> RuleDefinition:
    (definition,) = parse_rules("rules:\n" + text, "test.yaml")
    return definition


def run(compiled: CompiledRule, *views: tuple[BatchView, datetime]) -> list[Signal]:
    state: RuleState[Any] = compiled.load_state({})
    out: list[Signal] = []
    for view, now in views:
        signals, state = compiled.evaluate(view, state, now)
        out += signals
    return out


def pressure(device: str, values: list[float], start: datetime = NIGHT) -> BatchView:
    return view_of(
        Reading(SITE, device, "pressure_bar", start + timedelta(seconds=30 * i), v)
        for i, v in enumerate(values)
    )


def test_signals_carry_the_definitions_category_and_severity_and_scope_applies() -> None:
    compiled = compile_rule(
        rule(
            """
  - id: pump-pressure-low
    kind: threshold
    category: security
    severity: critical
    scope: {device_kinds: [booster_pump]}
    params: {metric: pressure_bar, op: "<", value: 2.0}
"""
        ),
        DIRECTORY,
    )
    view = BatchView(
        series={**pressure("pump-01", [3.0, 1.0]).series, **pressure("pump-02", [1.0]).series}
    )
    (signal,) = run(compiled, (view, NIGHT + timedelta(minutes=1)))
    assert (signal.rule, signal.subject, signal.metric) == (
        "pump-pressure-low",
        "pump-01",
        "pressure_bar",
    )
    assert (signal.category, signal.severity) == (Category.SECURITY, Severity.CRITICAL)
    assert compiled.inputs.metrics == frozenset({"pressure_bar"})
    assert compiled.inputs.event_types == frozenset()


def test_care_signals_about_a_household_device_name_the_household() -> None:
    sos = compile_rule(
        rule(
            """
  - id: sos
    kind: emergency
    category: care
    severity: critical
    params: {kinds: [sos]}
"""
        ),
        DIRECTORY,
    )
    view = view_of(
        [],
        [Event(SITE, "hh-01-sos", NIGHT, "sos"), Event(SITE, "lobby-sos", NIGHT, "sos")],
    )
    signals = run(sos, (view, NIGHT))
    assert sorted(s.subject for s in signals) == ["hh-01", "lobby-sos"]
    assert {s.category for s in signals} == {Category.CARE}
    assert sos.auto_resolve is not False


def test_smoke_can_be_a_security_alert() -> None:
    smoke = compile_rule(
        rule(
            """
  - id: smoke
    kind: emergency
    category: security
    severity: critical
    params: {kinds: [smoke]}
"""
        ),
        DIRECTORY,
    )
    (signal,) = run(smoke, (view_of([], [Event(SITE, "b01-smoke-01", NIGHT, "smoke")]), NIGHT))
    assert (signal.subject, signal.metric, signal.category) == (
        "b01-smoke-01",
        "smoke",
        Category.SECURITY,
    )


def test_night_activity_uses_each_households_quiet_hours_else_the_default_window() -> None:
    night = compile_rule(
        rule(
            """
  - id: night-door
    kind: night_activity
    category: care
    severity: warning
    params: {start: "22:00", end: "06:00"}
"""
        ),
        DIRECTORY,
    )
    view = view_of(
        [Reading(SITE, "hh-02-door", "door_open", NIGHT, 1.0)],
        [
            Event(SITE, "hh-01-door", NIGHT, "door_open"),  # 02:00: in 22:00-06:00
            Event(SITE, "b01-door-01", NIGHT, "door_open"),  # no household: not watched
        ],
    )
    signals = run(night, (view, NIGHT))
    assert [(s.subject, s.state) for s in signals] == [("hh-01", SignalState.FIRING)]
    # hh-02's own window, 23:00-01:00 local: 23:30 fires there.
    late = NIGHT - timedelta(hours=2, minutes=30)
    signals = run(night, (view_of([], [Event(SITE, "hh-02-door", late, "door_open")]), late))
    assert [s.subject for s in signals] == ["hh-02"]


def test_night_activity_reads_only_front_doors() -> None:
    # The fridge at 22:30 and 02:00 (a late dinner, a glass of water) is no one leaving.
    night = compile_rule(
        rule("  - {id: n, kind: night_activity, category: care, severity: warning}\n"), DIRECTORY
    )
    late = NIGHT - timedelta(hours=3, minutes=30)
    fridge = view_of(
        [Reading(SITE, "hh-01-fridge", "door_open", t, v) for t, v in ((late, 1.0), (NIGHT, 0.0))],
        [Event(SITE, "hh-01-fridge", NIGHT + timedelta(minutes=5), "door_open")],
    )
    assert run(night, (fridge, NIGHT + timedelta(minutes=5))) == []
    front = view_of([], [Event(SITE, "hh-01-door", NIGHT + timedelta(minutes=9), "door_open")])
    signals = run(night, (front, NIGHT + timedelta(minutes=9)))
    assert [(s.subject, s.summary_args["device"]) for s in signals] == [("hh-01", "hh-01-door")]


def test_night_activity_state_survives_a_round_trip() -> None:
    night = compile_rule(
        rule("  - {id: n, kind: night_activity, category: care, severity: warning}\n"), DIRECTORY
    )
    view = view_of([], [Event(SITE, "hh-01-door", NIGHT, "door_open")])
    _, state = night.evaluate(view, night.load_state({}), NIGHT)
    again = night.load_state(state.to_json())
    # The same opening again is late (already evaluated): nothing.
    assert night.evaluate(view, again, NIGHT)[0] == []


def test_anomaly_learns_in_each_sites_zone_unless_told() -> None:
    text = "  - {{id: a, kind: anomaly, category: maintenance, severity: info, params: {params}}}\n"
    per_zone = compile_rule(rule(text.format(params="{metric: m}")), DIRECTORY)
    fixed = compile_rule(rule(text.format(params="{metric: m, timezone: UTC}")), DIRECTORY)
    for compiled in (per_zone, fixed):
        view = view_of(
            Reading(SITE, "d", "m", NIGHT + timedelta(minutes=i), 1.0 + (i % 3)) for i in range(40)
        )
        _, state = compiled.evaluate(view, compiled.load_state({}), NIGHT)
        # Hour-of-day buckets: 02:00 local in Shanghai, 18:00 in UTC.
        (series_state,) = state.by_key.values()
        expected = 2 if compiled is per_zone else 18
        assert list(series_state.buckets) == [expected]


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("threshold", "{metric: m, op: '>', value: 1}"),
        ("trend", "{metric: m, op: '<', slope_per_h: -1, window_s: 600}"),
        ("anomaly", "{metric: m}"),
        ("usage", "{source: event, name: access_denied, count: 3, window_s: 60}"),
        ("battery", "{}"),
        ("emergency", "{}"),
        ("door_held", "{}"),
        ("night_activity", "{}"),
        ("offline", "{}"),
        ("inactivity", "{}"),
        ("stuck", "{metrics: [level_pct]}"),
    ],
)
def test_every_kind_compiles_and_runs_on_an_empty_view(kind: str, params: str) -> None:
    compiled = compile_rule(
        rule(f"  - {{id: r, kind: {kind}, category: care, severity: info, params: {params}}}\n"),
        DIRECTORY,
    )
    signals, state = compiled.evaluate(BatchView(), compiled.load_state({}), NIGHT)
    assert signals == []
    assert compiled.load_state(state.to_json()).to_json() == state.to_json()


def test_compile_rules_skips_disabled_and_reports_failures() -> None:
    definitions = parse_rules(
        """rules:
  - {id: on, kind: battery, category: maintenance, severity: warning}
  - {id: off, kind: battery, category: maintenance, severity: warning, enabled: false}
""",
        "t.yaml",
    )
    broken = definitions[0].model_copy(update={"id": "broken", "kind": "nonsense"})
    compiled, failed = compile_rules([*definitions, broken], DIRECTORY)
    assert [c.id for c in compiled] == ["on"]
    assert len(failed) == 1 and isinstance(failed[0], RuleCompileError)
    assert "rule 'broken'" in str(failed[0])


# -- the default rule set ----------------------------------------------------------------------

SCENARIOS = sorted(
    entry.name.removesuffix(".yaml")
    for entry in resources.files("device_sims.scenarios").iterdir()
    if entry.name.endswith(".yaml")
)


def defaults() -> list[RuleDefinition]:
    return load_rules_file(str(resources.files("rules").joinpath("defaults.yaml")))


def test_the_defaults_load_and_compile() -> None:
    definitions = defaults()
    assert len({d.id for d in definitions}) == len(definitions)
    compiled, failed = compile_rules(definitions, DIRECTORY)
    assert [str(f) for f in failed] == []
    assert len(compiled) == sum(d.enabled for d in definitions)


def _metrics_of(definition: RuleDefinition) -> set[str | None]:
    """The metrics a definition's signals can name (None for rules whose signals name none)."""
    p = definition.params
    if definition.kind in ("threshold", "trend", "anomaly"):
        return {p.get("metric")}
    if definition.kind == "stuck":
        return set(p.get("metrics", ()))
    if definition.kind == "battery":
        return {p.get("metric", "battery_pct")}
    if definition.kind == "emergency":
        return set(p.get("kinds", ("sos", "fall", "smoke", "water_leak", "tamper")))
    if definition.kind == "usage":
        return {p.get("name")}
    return {None}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_defaults_have_a_rule_for_every_expected_alert(scenario: str) -> None:
    definitions = [d for d in defaults() if d.enabled]
    for expected in load_scenario(scenario).expected_alerts:
        matching = [
            d
            for d in definitions
            if d.kind == expected.rule
            and d.category == expected.category
            and (expected.severity is None or d.severity == expected.severity)
            and (expected.metric is None or expected.metric in _metrics_of(d))
        ]
        assert matching, f"no default rule for {expected}"
