"""rules.definitions: rules files, their errors (rule, field, line), and the stored form."""

from __future__ import annotations

import math
from datetime import time
from pathlib import Path
from textwrap import dedent

import pytest
from pydantic import ValidationError

from rules.catalog.doors import NightActivityParams
from rules.definitions import (
    RuleDefinition,
    RuleFileError,
    from_records,
    load_rules_file,
    parse_rules,
    to_record,
)
from rules.policy import NotifyPolicy
from rules.registry import params_of
from rules.rule import Category, Severity
from rules.scope import Scope
from store.rules.rule_defs import RuleRecord

GOOD = """\
rules:
  - id: pump-current-low
    kind: threshold
    description: Dry running.
    category: maintenance
    severity: critical
    scope: {sites: [sunny-court], device_kinds: [booster_pump]}
    params: {metric: current_a, op: "<", value: 4, hold_s: 50, only_when: running}
    notify: {escalate_after_s: null}
  - id: night-door
    kind: night_activity
    category: care
    severity: warning
    enabled: false
    auto_resolve: false
    params: {start: 23:00, end: "05:30"}
"""


def test_a_good_file() -> None:
    pump, night = parse_rules(GOOD, "good.yaml")
    assert pump.id == "pump-current-low"
    assert pump.kind == "threshold"
    assert pump.category is Category.MAINTENANCE
    assert pump.severity is Severity.CRITICAL
    assert pump.scope == Scope(sites=("sunny-court",), device_kinds=("booster_pump",))
    assert pump.notify == NotifyPolicy(escalate_after_s=None)
    assert pump.enabled and pump.auto_resolve
    assert params_of(pump).value == 4.0
    assert not night.enabled and not night.auto_resolve
    assert night.notify == NotifyPolicy()
    # 23:00 unquoted is a time, not YAML 1.1's sexagesimal 1380.
    params = params_of(night)
    assert isinstance(params, NightActivityParams)
    assert (params.start, params.end) == (time(23, 0), time(5, 30))


def test_empty_files() -> None:
    assert parse_rules("", "empty.yaml") == []
    assert parse_rules("rules: []\n", "empty.yaml") == []


def _errors(text: str) -> list[str]:
    with pytest.raises(RuleFileError) as info:
        parse_rules(dedent(text), "r.yaml")
    return list(info.value.errors)


RULE = """\
rules:
  - id: pump-current-high
    kind: threshold
    category: maintenance
    severity: warning
"""


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "    params: {metric: current_a, op: '>', value: .nan}\n",
            "r.yaml:6: rule 'pump-current-high': params.value: must be a finite number, got nan",
        ),
        (
            "    params:\n      metric: current_a\n      op: '>'\n      value: lots\n",
            "r.yaml:9: rule 'pump-current-high': params.value: Input should be a valid number",
        ),
        (
            "    params: {metric: current_a, op: '>=', value: 1}\n",
            "r.yaml:6: rule 'pump-current-high': params.op: Input should be '>' or '<'",
        ),
        (
            "    params: {metric: current_a, op: '>', value: 1, limit: 2}\n",
            "r.yaml:6: rule 'pump-current-high': params.limit: unknown field; threshold params "
            "are: clear_hold_s, clear_value, hold_s, metric, only_when, op, value",
        ),
        (
            "    params: {metric: current_a, op: '>', value: 1, severity: critical}\n",
            "r.yaml:6: rule 'pump-current-high': params.severity: set severity on the rule, "
            "not in params",
        ),
        (
            "    params: {op: '>', value: 1}\n",
            "r.yaml:6: rule 'pump-current-high': params.metric: Field required",
        ),
        (
            "    params: {metric: x, op: '>', value: 1}\n    scope: {site: [a]}\n",
            "r.yaml:7: rule 'pump-current-high': scope: unknown field(s) site; known: "
            "device_kinds, devices, households, roles, sites",
        ),
        (
            "    params: {metric: x, op: '>', value: 1}\n    notify: {escalate_after_s: 0}\n",
            "r.yaml:7: rule 'pump-current-high': notify.escalate_after_s: must be > 0, got 0.0",
        ),
        (
            "    params: {metric: x, op: '>', value: 1}\n    notify: {remind_every_s: 1e12}\n",
            "r.yaml:7: rule 'pump-current-high': notify.remind_every_s: must be at most"
            " 3.1536e+07 s",
        ),
        (
            "    params: {metric: x, op: '>', value: 1}\n    colour: red\n",
            "r.yaml:7: rule 'pump-current-high': colour: Extra inputs are not permitted",
        ),
    ],
)
def test_each_error_names_file_line_rule_and_field(extra: str, expected: str) -> None:
    errors = _errors(RULE + extra)
    assert any(e.startswith(expected) for e in errors), errors


def test_every_error_of_a_file_is_reported_at_once() -> None:
    errors = _errors(
        """\
        rules:
          - id: a
            kind: thresh
            category: maintenance
            severity: warning
          - id: b
            kind: trend
            category: maint
            severity: loud
            params: {metric: level_pct, op: "<", slope_per_h: -5, window_s: -1}
          - kind: battery
            category: maintenance
            severity: warning
          - id: a
            kind: battery
            category: maintenance
            severity: warning
          - just a string
        """
    )
    assert errors == [
        "r.yaml:3: rule 'a': kind: unknown kind 'thresh'; known: threshold, trend, anomaly, "
        "usage, battery, emergency, door_held, night_activity, offline, inactivity, stuck",
        "r.yaml:8: rule 'b': category: Input should be 'maintenance', 'care' or 'security'",
        "r.yaml:9: rule 'b': severity: Input should be 'info', 'warning' or 'critical'",
        "r.yaml:10: rule 'b': params.window_s: must be > 0, got -1.0",
        "r.yaml:11: rule #3: id: Field required",
        "r.yaml:14: rule 'a': id: duplicate of the rule at line 2",
        "r.yaml:18: rule #5: expected a mapping",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rules: [\n", "r.yaml:2: not valid YAML"),
        ("rule: []\n", "r.yaml:1: expected a mapping with one key, `rules`"),
        ("rules: {a: 1}\n", "r.yaml:1: `rules` must be a list of rules"),
        (
            "rules:\n  - {id: Pump, kind: battery, category: care, severity: info}\n",
            "r.yaml:2: rule #1: id: String should match pattern",
        ),
    ],
)
def test_file_level_errors(text: str, expected: str) -> None:
    errors = _errors(text)
    assert len(errors) == 1 and errors[0].startswith(expected), errors


def test_on_and_off_are_strings() -> None:
    (rule,) = parse_rules(
        RULE + "    params: {metric: power_w, op: '<', value: 20, only_when: on}\n", "r.yaml"
    )
    assert params_of(rule).only_when == "on"


def test_the_model_validates_params_when_built_directly() -> None:
    with pytest.raises(ValidationError, match="value: must be a finite number"):
        RuleDefinition(
            id="x",
            kind="threshold",
            category=Category.MAINTENANCE,
            severity=Severity.INFO,
            params={"metric": "m", "op": ">", "value": math.inf},
        )


def test_records_round_trip() -> None:
    definitions = parse_rules(GOOD, "good.yaml")
    records = [to_record(d) for d in definitions]
    assert records[0].scope == {
        "sites": ["sunny-court"],
        "device_kinds": ["booster_pump"],
        "devices": [],
        "households": [],
        "roles": [],
    }
    assert records[0].notify == {
        "escalate_after_s": None,
        "remind_every_s": 3600.0,
        "respect_quiet_hours": True,
    }
    assert records[1].params == {"start": "23:00", "end": "05:30"}
    back, errors = from_records(records)
    assert errors == [] and back == definitions


def test_a_stored_rule_that_no_longer_validates_is_reported_and_skipped() -> None:
    good = to_record(parse_rules(GOOD, "good.yaml")[0])
    bad = RuleRecord(id="old", kind="threshold", category="care", severity="info", params={})
    back, errors = from_records([bad, good])
    assert [d.id for d in back] == ["pump-current-low"]
    assert errors[0] == "rule 'old': params.metric: Field required"


def test_load_rules_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(GOOD, encoding="utf-8")
    assert [d.id for d in load_rules_file(path)] == ["pump-current-low", "night-door"]
    path.write_text(RULE, encoding="utf-8")  # a threshold without params
    with pytest.raises(RuleFileError, match=str(path)):
        load_rules_file(path)
