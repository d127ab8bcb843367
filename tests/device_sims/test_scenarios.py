"""Every shipped scenario validates; broken files fail with the file, line and field named."""

from __future__ import annotations

from pathlib import Path

import pytest

from device_sims.scenario import load_scenario, parse_scenario, shipped
from device_sims.yaml_source import ScenarioError

GOOD = """\
name: tiny
site: {id: tiny, name: Tiny, timezone: Asia/Shanghai}
start: 2025-03-03T00:00:00+08:00
duration: 1d
site_devices:
  - {kind: booster_pump, count: 1}
households:
  - {id: hh-01, label: "Room 1"}
incidents:
  - kind: pump_failure
    target: pump-01
    at: 10h
    expect:
      - {category: maintenance, rule: threshold, subject: pump-01, within: 30m}
"""


@pytest.mark.parametrize("name", shipped())
def test_shipped_scenario_validates(name: str) -> None:
    scenario = load_scenario(name)
    assert scenario.devices or scenario.households
    for alert in scenario.expected_alerts:
        assert scenario.start <= alert.not_before < alert.deadline
    for fault in scenario.faults:
        assert scenario.start.timestamp() <= fault.start < scenario.end.timestamp()


def test_shipped_set_covers_every_incident_kind() -> None:
    from device_sims.faults import ALL_KINDS

    names = set(shipped())
    assert {"small-community", "city-block"} <= names
    assert {f"incident-{k.replace('_', '-')}" for k in ALL_KINDS} <= names


def test_sizes_of_the_named_communities() -> None:
    small, city = load_scenario("small-community"), load_scenario("city-block")
    assert 150 <= len(small.devices) <= 250 and len(small.households) == 10
    assert small.duration_s == 7 * 86_400 and 4 <= len(small.faults) <= 15
    assert 9_500 <= city.device_count() <= 10_500
    # Compact: counts and templates, not one line per device.
    text = (Path(__file__).parents[2] / "device_sims/scenarios/city-block.yaml").read_text()
    assert len(text.splitlines()) < 100


def test_expectations_are_resolved_to_times() -> None:
    scenario = parse_scenario(GOOD)
    (alert,) = scenario.expected_alerts
    assert alert.subject == "pump-01" and alert.rule == "threshold"
    assert (alert.not_before - scenario.start).total_seconds() == 10 * 3600
    assert (alert.deadline - alert.not_before).total_seconds() == 1800


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("duration: 1d", "duration: 1 day", "tiny.yaml:4: duration: '1 day' is not a duration"),
        ("timezone: Asia/Shanghai", "timezone: Mars/Base", "tiny.yaml:2: site.timezone:"),
        ("kind: booster_pump", "kind: boster_pump", "tiny.yaml:6: site_devices[0].kind: unknown"),
        ("target: pump-01", "target: pump-99", "tiny.yaml:11: incidents[0].target: unknown target"),
        (
            "kind: pump_failure",
            "kind: tank_leak",
            "tiny.yaml:11: incidents[0].target: tank_leak applies to a water_tank",
        ),
        ("at: 10h", "at: soon", "tiny.yaml:12: incidents[0].at:"),
        (
            "category: maintenance",
            "category: repairs",
            "tiny.yaml:14: incidents[0].expect[0].category:",
        ),
        (
            "subject: pump-01",
            "subject: nobody",
            "tiny.yaml:14: incidents[0].expect[0].subject: unknown subject",
        ),
        (
            'label: "Room 1"',
            'label: "Room 1", colour: red',
            "tiny.yaml:8: households[0].colour: Extra inputs",
        ),
        (
            "  - {kind: booster_pump, count: 1}",
            "  - {kind: booster_pump, count: 1",
            "tiny.yaml:7: not valid YAML",
        ),
        ("start: 2025-03-03T00:00:00+08:00", "start: 2025-03-03T00:00:00", "tiny.yaml:3: start: "),
    ],
)
def test_broken_file_names_line_and_field(old: str, new: str, expected: str) -> None:
    assert old in GOOD
    with pytest.raises(ScenarioError) as info:
        parse_scenario(GOOD.replace(old, new), "tiny.yaml")
    assert str(info.value).startswith(expected), str(info.value)


def test_load_by_path_and_unknown_name(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(GOOD)
    assert load_scenario(path).name == "tiny"
    with pytest.raises(ScenarioError, match="no scenario named 'nope'"):
        load_scenario("nope")


def test_zigbee2mqtt_names_must_be_unique() -> None:
    twice = GOOD.replace(
        '  - {id: hh-01, label: "Room 1"}',
        '  - {id: hh-01, label: "Room 1", format: zigbee2mqtt}\n'
        '  - {id: hh-02, label: "Room 1", format: zigbee2mqtt}',
    )
    with pytest.raises(ScenarioError, match=r"tiny.yaml:\d+: households\[1\].label"):
        parse_scenario(twice, "tiny.yaml")
