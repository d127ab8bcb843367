"""Suggested kinds and household roles from features, actions, units, events, model words and
names (store/devices/suggestions.py): one table per clue, each case named for its edge."""

from __future__ import annotations

import pytest

from store.devices.catalogue import KINDS, Role
from store.devices.suggestions import (
    Clues,
    RoleSuggestion,
    room_of,
    suggest_kind,
    suggest_role,
)


def f(*names: str) -> frozenset[str]:
    return frozenset(names)


@pytest.mark.parametrize(
    ("clues", "kind"),
    [
        pytest.param(Clues(features=f("contact", "battery")), "door_contact", id="z2m-contact"),
        pytest.param(Clues(features=f("door_open", "battery_pct")), "door_contact", id="metric"),
        pytest.param(Clues(features=f("occupancy", "illuminance_lux")), "motion_sensor", id="pir"),
        pytest.param(Clues(features=f("presence")), "motion_sensor", id="presence"),
        pytest.param(
            Clues(features=f("occupancy"), description="Tuya Bed sensor"),
            "bed_sensor",
            id="bed-mat-by-model",
        ),
        pytest.param(
            Clues(features=f("presence"), description="Pressure mat", name="Grandma's chair"),
            "seat_sensor",
            id="pressure-mat-named-chair",
        ),
        pytest.param(
            Clues(features=f("occupancy"), description="Occupancy pressure mat"),
            "bed_sensor",
            id="pressure-mat-without-a-word-of-where",
        ),
        pytest.param(Clues(features=f("occupancy"), name="沙发"), "seat_sensor", id="sofa-zh"),
        pytest.param(Clues(features=f("occupancy"), name="Seat"), "seat_sensor", id="seat"),
        pytest.param(
            Clues(features=f("occupancy"), name="bedroom motion"),
            "motion_sensor",
            id="bedroom-is-not-a-bed",
        ),
        pytest.param(Clues(features=f("water_leak", "temperature")), "leak_detector", id="leak"),
        pytest.param(Clues(features=f("smoke", "battery")), "smoke_detector", id="smoke"),
        pytest.param(Clues(features=f("action"), actions=f("sos")), "sos_button", id="action-sos"),
        pytest.param(
            Clues(features=f("action"), actions=f("emergency", "single")),
            "sos_button",
            id="action-emergency",
        ),
        pytest.param(
            Clues(features=f("action"), actions=f("single", "double")), "button", id="switch"
        ),
        pytest.param(Clues(features=f("state", "power", "energy")), "smart_plug", id="plug"),
        pytest.param(Clues(features=f("energy")), "electricity_meter", id="energy-no-switch"),
        pytest.param(
            Clues(features=f("on", "power_w", "energy_kwh")), "street_light", id="street-light"
        ),
        pytest.param(Clues(features=f("energy_kwh", "power_w")), "electricity_meter", id="meter"),
        pytest.param(Clues(features=f("water_m3", "flow_lpm")), "water_meter", id="water-meter"),
        pytest.param(Clues(features=f("flow_lpm")), "water_flow_sensor", id="water-flow"),
        pytest.param(
            Clues(features=f("trips", "door_open", "floor")), "elevator", id="elevator-has-doors"
        ),
        pytest.param(Clues(features=f("level_pct", "inlet_open")), "water_tank", id="tank"),
        pytest.param(
            Clues(features=f("pressure_bar", "current_a", "running")), "booster_pump", id="pump"
        ),
        pytest.param(Clues(features=f("granted_count")), "gate_reader", id="gate-counts"),
        pytest.param(Clues(features=f("temperature", "humidity")), "climate_sensor", id="th"),
        pytest.param(Clues(event_types=f("fall")), "fall_detector", id="event-fall"),
        pytest.param(Clues(event_types=f("sos")), "sos_button", id="event-sos"),
        pytest.param(Clues(event_types=f("bed_occupied")), "bed_sensor", id="event-bed"),
        pytest.param(Clues(event_types=f("seat_vacant")), "seat_sensor", id="event-seat"),
        pytest.param(Clues(event_types=f("appliance_on")), "smart_plug", id="event-appliance"),
        pytest.param(Clues(event_types=f("access_denied")), "gate_reader", id="event-access"),
        pytest.param(Clues(units=f("kWh")), "electricity_meter", id="senml-kwh"),
        pytest.param(Clues(units=f("m3")), "water_meter", id="senml-m3"),
        pytest.param(Clues(units=f("Cel", "%RH")), "climate_sensor", id="senml-cel"),
        pytest.param(Clues(name="SOS 201"), "sos_button", id="name-only-sos"),
        pytest.param(Clues(name="kettle"), "smart_plug", id="name-only-kettle"),
        pytest.param(Clues(features=f("battery", "linkquality")), None, id="says-nothing"),
        pytest.param(Clues(), None, id="nothing-known"),
    ],
)
def test_suggest_kind(clues: Clues, kind: str | None) -> None:
    assert suggest_kind(clues) == kind
    assert kind is None or kind in KINDS


@pytest.mark.parametrize(
    ("kind", "name", "expected"),
    [
        pytest.param("door_contact", "front door", RoleSuggestion(Role.FRONT_DOOR), id="front"),
        pytest.param("door_contact", "大门", RoleSuggestion(Role.FRONT_DOOR), id="zh-gate"),
        pytest.param("door_contact", "入户门", RoleSuggestion(Role.FRONT_DOOR), id="zh-entry"),
        pytest.param("door_contact", "Door", RoleSuggestion(Role.FRONT_DOOR), id="a-door"),
        pytest.param(
            "door_contact", "fridge", RoleSuggestion(Role.OTHER_DOOR, "fridge"), id="fridge"
        ),
        pytest.param(
            "door_contact", "冰箱", RoleSuggestion(Role.OTHER_DOOR, "fridge"), id="fridge-zh"
        ),
        pytest.param(
            "door_contact",
            "kitchen cupboard",
            RoleSuggestion(Role.OTHER_DOOR, "cupboard"),
            id="cupboard-before-kitchen",
        ),
        pytest.param(
            "door_contact", "bedroom door", RoleSuggestion(Role.OTHER_DOOR, "bedroom"), id="bed"
        ),
        pytest.param(
            "door_contact", "阳台门", RoleSuggestion(Role.OTHER_DOOR, "balcony"), id="balcony-zh"
        ),
        pytest.param(
            "door_contact",
            "front door by the kitchen",
            RoleSuggestion(Role.FRONT_DOOR),
            id="front-wins",
        ),
        pytest.param(
            "door_contact", "hh-01-hall-door", RoleSuggestion(Role.FRONT_DOOR), id="hallway"
        ),
        pytest.param(
            "motion_sensor",
            "hh_01_pir_bathroom",
            RoleSuggestion(Role.MOTION, "bathroom"),
            id="motion-room-from-id",
        ),
        pytest.param(
            "motion_sensor", "客厅 人体", RoleSuggestion(Role.MOTION, "living_room"), id="zh-room"
        ),
        pytest.param("motion_sensor", "PIR", RoleSuggestion(Role.MOTION), id="motion-no-room"),
        pytest.param("bed_sensor", "mat", RoleSuggestion(Role.BED), id="bed"),
        pytest.param("seat_sensor", "chair", RoleSuggestion(Role.SEAT), id="seat"),
        pytest.param("sos_button", "SOS", RoleSuggestion(Role.SOS), id="sos"),
        pytest.param("fall_detector", "", RoleSuggestion(Role.SOS), id="fall"),
        pytest.param("smart_plug", "kettle", RoleSuggestion(Role.APPLIANCE), id="plug"),
        pytest.param("booster_pump", "pump", None, id="no-role-for-facilities"),
        pytest.param("climate_sensor", "living", None, id="no-role-for-climate"),
        pytest.param(None, "front door", None, id="no-kind"),
        pytest.param("an_operators_kind", "front door", None, id="kind-not-shipped"),
    ],
)
def test_suggest_role(kind: str | None, name: str, expected: RoleSuggestion | None) -> None:
    assert suggest_role(kind, name) == expected


@pytest.mark.parametrize(
    ("text", "room"),
    [
        ("Küche fridge", "fridge"),
        ("toilet", "bathroom"),
        ("卫生间", "bathroom"),
        ("Bedford Court hallway", "hallway"),  # "Bedford" is no bed(room)
        ("living", "living_room"),
        ("front door", None),
        ("", None),
    ],
)
def test_room_of(text: str, room: str | None) -> None:
    assert room_of(text) == room
