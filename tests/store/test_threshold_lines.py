"""Which rules' scopes cover a device, as the rules engine decides it (rules/scope.py)."""

from __future__ import annotations

import pytest

from rules.directory import DeviceInfo, Directory
from rules.scope import Scope
from store.rules.threshold_lines import DeviceInScope, covers

TANK = DeviceInScope("alpha", "b01-tank-1", "water_tank", "b01-502")

SCOPES: list[dict[str, object]] = [
    {},
    {"sites": ["alpha"]},
    {"sites": ["beta"]},
    {"device_kinds": ["water_tank", "booster_pump"]},
    {"device_kinds": ["booster_pump"]},
    {"devices": ["b01-tank-1"]},
    {"devices": ["b0?-tank-*"]},
    {"devices": ["b02-*"]},
    {"households": ["b01-502"]},
    {"households": ["b01-503"]},
    {"sites": ["alpha"], "device_kinds": ["water_tank"], "devices": ["b01-*"]},
    {"sites": ["alpha"], "device_kinds": ["booster_pump"], "devices": ["b01-*"]},
]


@pytest.mark.parametrize("scope", SCOPES, ids=[str(s) for s in SCOPES])
def test_a_scope_covers_the_device_as_the_engine_says(scope: dict[str, object]) -> None:
    info = DeviceInfo("alpha", TANK.device_key, kind=TANK.kind, household=TANK.household_id)
    directory = Directory({("alpha", TANK.device_key): info})
    engine = Scope(**{k: tuple(v) for k, v in scope.items()})  # type: ignore[arg-type]
    expected = engine.bind(directory).contains(TANK.site_id, TANK.device_key)
    assert covers(scope, TANK) is expected
