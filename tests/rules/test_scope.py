"""rules.scope: which devices a scope holds, filtering views, restricting the directory."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from rules.arrays import BatchView, view_of
from rules.definitions import RuleFileError, parse_rules
from rules.directory import DeviceInfo, Directory, HouseholdInfo
from rules.scope import Scope
from store.records import Event, Reading, StatusChange

T = datetime(2025, 3, 3, tzinfo=UTC)

DIRECTORY = Directory.of(
    households=[
        HouseholdInfo("north", "hh-01", devices=("hh-01-door", "hh-01-pir", "hh-01-fridge")),
        HouseholdInfo("south", "hh-01", devices=("hh-01-door",)),
        HouseholdInfo("south", "hh-02", quiet_start=time(23), quiet_end=time(6)),
    ],
    devices=[
        DeviceInfo("north", "pump-01", "booster_pump"),
        DeviceInfo("north", "b01-door-01", "unit_door"),
        DeviceInfo("north", "hh-01-door", "door_contact", role="front_door"),
        DeviceInfo("north", "hh-01-pir", "motion_sensor", role="motion", role_room="kitchen"),
        # A door contact people said is the fridge's.
        DeviceInfo("north", "hh-01-fridge", "door_contact", role="other_door", role_room="fridge"),
        DeviceInfo("south", "pump-01", "booster_pump"),
    ],
    site_timezones={"north": "Asia/Shanghai", "south": "Asia/Urumqi"},
)


@pytest.mark.parametrize(
    ("scope", "site", "device", "inside"),
    [
        (Scope(), "anywhere", "anything", True),
        (Scope(sites=("north",)), "north", "pump-01", True),
        (Scope(sites=("north",)), "south", "pump-01", False),
        (Scope(device_kinds=("booster_pump",)), "south", "pump-01", True),
        (Scope(device_kinds=("booster_pump",)), "north", "hh-01-door", False),
        # A device the directory does not know has no kind and no household.
        (Scope(device_kinds=("booster_pump",)), "north", "pump-99", False),
        (Scope(households=("hh-01",)), "north", "hh-01-pir", True),
        (Scope(households=("hh-01",)), "south", "hh-01-door", True),
        (Scope(households=("hh-01",)), "north", "pump-01", False),
        (Scope(sites=("south",), households=("hh-01",)), "north", "hh-01-pir", False),
        (Scope(devices=("pump-01",)), "south", "pump-01", True),
        (Scope(devices=("pump-01",)), "south", "pump-011", False),
        (Scope(devices=("*-door-*", "*-door")), "north", "b01-door-01", True),
        (Scope(devices=("*-door-*", "*-door")), "north", "hh-01-door", True),
        (Scope(devices=("*-door-*", "*-door")), "north", "b01-elevator-01", False),
        (Scope(devices=("b0[12]-door-??",)), "north", "b02-door-17", True),
        (Scope(devices=("b0[12]-door-??",)), "north", "b03-door-17", False),
        # Fields combine with AND.
        (Scope(devices=("*-door",), device_kinds=("door_contact",)), "north", "hh-01-door", True),
        (Scope(devices=("*-door",), device_kinds=("booster_pump",)), "north", "hh-01-door", False),
        # Household roles: the front door, not the fridge door of the same kind, nor a unit door
        # (no household, no role), nor a device the directory does not know.
        (Scope(roles=("front_door",)), "north", "hh-01-door", True),
        (Scope(roles=("front_door",)), "north", "hh-01-fridge", False),
        (Scope(roles=("front_door",)), "north", "b01-door-01", False),
        (Scope(roles=("front_door",)), "north", "hh-99-door", False),
        (Scope(roles=("other_door", "motion")), "north", "hh-01-fridge", True),
        (Scope(roles=("other_door", "motion")), "north", "hh-01-pir", True),
        (Scope(device_kinds=("door_contact",), roles=("front_door",)), "north", "hh-01-door", True),
        (Scope(sites=("south",), roles=("front_door",)), "north", "hh-01-door", False),
    ],
)
def test_contains(scope: Scope, site: str, device: str, inside: bool) -> None:
    assert scope.bind(DIRECTORY).contains(site, device) is inside


def _view() -> BatchView:
    return view_of(
        [
            Reading("north", "pump-01", "pressure_bar", T, 3.2),
            Reading("south", "pump-01", "pressure_bar", T, 3.4),
            Reading("north", "hh-01-pir", "occupancy", T, 1.0),
        ],
        [Event("north", "hh-01-door", T, "door_open"), Event("south", "pump-01", T, "pump_start")],
        [StatusChange("south", "pump-01", T, False), StatusChange("north", "hh-01-pir", T, True)],
    )


def test_everything_returns_the_view_itself() -> None:
    view = _view()
    assert Scope().bind(DIRECTORY).filter(view) is view


def test_filter_keeps_series_events_and_statuses_of_devices_in_scope() -> None:
    view = _view()
    south = Scope(sites=("south",)).bind(DIRECTORY).filter(view)
    assert list(south.series) == [("south", "pump-01", "pressure_bar")]
    assert list(south.events) == [("south", "pump-01", "pump_start")]
    assert [(s.site, s.device) for s in south.statuses] == [("south", "pump-01")]

    homes = Scope(households=("hh-01",)).bind(DIRECTORY).filter(view)
    assert list(homes.series) == [("north", "hh-01-pir", "occupancy")]
    assert list(homes.events) == [("north", "hh-01-door", "door_open")]
    assert [(s.site, s.device) for s in homes.statuses] == [("north", "hh-01-pir")]


def test_a_view_wholly_in_scope_is_returned_as_is() -> None:
    view = view_of([Reading("north", "pump-01", "pressure_bar", T, 3.2)])
    assert Scope(sites=("north",)).bind(DIRECTORY).filter(view) is view


def test_restrict_keeps_devices_and_households_in_scope() -> None:
    bound = Scope(sites=("south",)).bind(DIRECTORY)
    restricted = bound.restrict()
    assert sorted(restricted.devices) == [("south", "hh-01-door"), ("south", "pump-01")]
    assert sorted(restricted.households) == [("south", "hh-01"), ("south", "hh-02")]
    assert restricted.timezone_of("south") == "Asia/Urumqi"

    doors = Scope(devices=("*-door",)).bind(DIRECTORY).restrict()
    # Households stay (device filters do not apply to them) with only their devices in scope.
    assert doors.households[("north", "hh-01")].devices == ("hh-01-door",)
    assert ("north", "pump-01") not in doors.devices


def test_restrict_with_everything_is_the_same_directory() -> None:
    assert Scope().bind(DIRECTORY).restrict() is DIRECTORY


def test_restrict_by_role_keeps_the_roles() -> None:
    front = Scope(roles=("front_door",)).bind(DIRECTORY).restrict()
    assert front.households[("north", "hh-01")].devices == ("hh-01-door",)
    assert sorted(front.devices) == [("north", "hh-01-door")]
    assert front.role_of("north", "hh-01-door") == "front_door"


def test_an_unknown_role_names_the_rule_and_the_field() -> None:
    text = """rules:
  - id: night-door
    kind: night_activity
    category: care
    severity: warning
    scope:
      roles: [front_door, fridge_door]
"""
    with pytest.raises(RuleFileError) as raised:
        parse_rules(text, "r.yaml")
    assert raised.value.errors == (
        "r.yaml:7: rule 'night-door': scope.roles[1]: unknown role 'fridge_door'; known: "
        "front_door, other_door, motion, bed, seat, sos, appliance, other",
    )
    (ok,) = parse_rules(text.replace(", fridge_door", ""), "r.yaml")
    assert ok.scope.roles == ("front_door",)
