"""Names a scenario gives its buildings, devices and home-kit sensors, in each language."""

from __future__ import annotations

import pytest

from device_sims.scenario import parse_scenario
from device_sims.yaml_source import ScenarioError

NAMED = """\
name: named
site: {id: named, name: Named, timezone: Asia/Shanghai}
start: 2025-03-03T00:00:00+08:00
duration: 1d
gateway_name: {en: Gateway, zh-CN: 网关}
sensor_names:
  sos: {en: "{household} SOS button", zh-CN: "{household} 紧急按钮"}
  pir_bedroom: {en: "{household} bedroom motion", zh-CN: "{household} 卧室人体感应"}
buildings:
  - id: "b{n}"
    repeat: 2
    name: {en: "Block {n}", zh-CN: "{n}号楼"}
    devices:
      - {kind: elevator, count: 2, name: {en: "{building} lift {n}", zh-CN: "{building}{n}号电梯"}}
site_devices:
  - {kind: street_light, count: 1, name: {en: "Street light {n}", zh-CN: "{n}号路灯"}}
  - {kind: water_tank, count: 1}
households:
  - {id: hh-1, label: "Flat 1", building: b1, rooms: [bedroom, kitchen], sensors: [sos]}
"""


def test_names_are_filled_in_each_language_with_the_buildings_name() -> None:
    scenario = parse_scenario(NAMED)
    assert scenario.building_names["b2"] == {"en": "Block 2", "zh-CN": "2号楼"}
    names = scenario.device_names
    assert names["b2-elevator-01"] == {"en": "Block 2 lift 1", "zh-CN": "2号楼1号电梯"}
    assert names["light-01"] == {"en": "Street light 1", "zh-CN": "1号路灯"}
    assert names["hh-1-sos"] == {"en": "Flat 1 SOS button", "zh-CN": "Flat 1 紧急按钮"}
    assert names["hh-1-pir-bedroom"]["zh-CN"] == "Flat 1 卧室人体感应"
    assert names["sim-gateway"] == {"en": "Gateway", "zh-CN": "网关"}
    # What the file does not name has no name: provisioning leaves it to people.
    assert "tank-01" not in names and "hh-1-pir-kitchen" not in names


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            '"{building} lift {n}"',
            '"{floor} lift"',
            "named.yaml:14: buildings[0].devices[0].name.en: bad name template",
        ),
        ("zh-CN: 网关", "chinese: 网关", "named.yaml:5: gateway_name.chinese"),
        ("  sos: {en", "  fridge: {en", "named.yaml:7: sensor_names.fridge"),
    ],
)
def test_broken_names_name_line_and_field(old: str, new: str, expected: str) -> None:
    assert old in NAMED
    with pytest.raises(ScenarioError) as info:
        parse_scenario(NAMED.replace(old, new), "named.yaml")
    assert str(info.value).startswith(expected), str(info.value)
