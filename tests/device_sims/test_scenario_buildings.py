"""A scenario's buildings (ids and floors) and the building each household is in."""

from __future__ import annotations

import pytest

from device_sims.scenario import Building, load_scenario, parse_scenario
from device_sims.yaml_source import ScenarioError

TOWERS = """\
name: towers
site: {id: towers, name: Towers, timezone: Asia/Shanghai}
start: 2025-03-03T00:00:00+08:00
duration: 1d
buildings:
  - {id: "t{n}", repeat: 2, floors: 30}
  - {id: annex, floors: 3}
households:
  - {id: "hh-{n}", label: "Flat {n}", repeat: 2, building: "t{n}"}
  - {id: hh-annex, label: "Annex 1", building: annex}
  - {id: hh-none, label: "Cottage"}
"""


def test_buildings_expand_and_households_name_theirs() -> None:
    scenario = parse_scenario(TOWERS)
    assert scenario.buildings == (Building("t1", 30), Building("t2", 30), Building("annex", 3))
    assert {h.id: h.building for h in scenario.households} == {
        "hh-1": "t1",
        "hh-2": "t2",
        "hh-annex": "annex",
        "hh-none": None,
    }


def test_small_community_households_are_in_its_blocks() -> None:
    scenario = load_scenario("small-community")
    assert [(b.id, b.floors) for b in scenario.buildings] == [(f"b0{n}", 12) for n in range(1, 5)]
    assert {h.building for h in scenario.households} == {"b01", "b02", "b03", "b04"}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("building: annex", "building: anex", "towers.yaml:10: households[1].building: unknown"),
        ('building: "t{n}"', 'building: "t{x}"', "towers.yaml:9: households[0].building: bad id"),
        ('id: "t{n}", repeat: 2', 'id: "t1", repeat: 2', "towers.yaml:6: buildings[0].id: dup"),
    ],
)
def test_broken_buildings_name_line_and_field(old: str, new: str, expected: str) -> None:
    assert old in TOWERS
    with pytest.raises(ScenarioError) as info:
        parse_scenario(TOWERS.replace(old, new), "towers.yaml")
    assert str(info.value).startswith(expected), str(info.value)
