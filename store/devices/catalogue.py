"""The catalogue of device kinds and household roles: codes, categories, and the role a kind
suggests in a household.

The shipped kinds are seeded into the `device_kinds` table by migration 0015 (a test checks the
two agree); operators may add their own rows there (`store.devices.device_edits.add_kind`). Roles
are a closed list: the care rules read them, so a new role is a code change, not a row.
Labels for people are in `i18n/labels.py` (`KINDS`, `ROLES`, `ROOMS`, `KIND_CATEGORIES`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    FACILITY = "facility"
    ACCESS = "access"
    HOME = "home"
    OTHER = "other"


class Role(StrEnum):
    """What a device is for inside a household; decides what the care rules read."""

    FRONT_DOOR = "front_door"  # the only door whose opening can mean "went out"
    OTHER_DOOR = "other_door"  # bedroom, bathroom, fridge, cupboard, balcony ... (role_room)
    MOTION = "motion"  # motion in a room (role_room)
    BED = "bed"  # resting: lying down
    SEAT = "seat"  # resting: sitting (chair, sofa)
    SOS = "sos"
    APPLIANCE = "appliance"  # a plug or appliance that shows daily use (kettle, TV, ...)
    OTHER = "other"


#: A fact's standing: inferred by Courtyard, or said by a person (never overwritten).
SUGGESTED = "suggested"
CONFIRMED = "confirmed"


@dataclass(frozen=True, slots=True)
class KindInfo:
    code: str
    category: Category
    #: The role a device of this kind suggests when it is in a household (None: none).
    household_role: Role | None = None


_F, _A, _H, _O = Category.FACILITY, Category.ACCESS, Category.HOME, Category.OTHER

#: The shipped kinds, in the order lists show them.
KINDS: Mapping[str, KindInfo] = {
    k.code: k
    for k in (
        KindInfo("water_tank", _F),
        KindInfo("booster_pump", _F),
        KindInfo("elevator", _F),
        KindInfo("street_light", _F),
        KindInfo("room_climate", _F),  # an equipment room's temperature and humidity
        KindInfo("smoke_detector", _F),
        KindInfo("leak_detector", _F),
        KindInfo("water_meter", _F),
        KindInfo("electricity_meter", _F),
        KindInfo("gate_reader", _A),
        KindInfo("face_gate", _A),
        KindInfo("unit_door", _A),
        KindInfo("door_contact", _H, Role.FRONT_DOOR),
        KindInfo("motion_sensor", _H, Role.MOTION),
        KindInfo("bed_sensor", _H, Role.BED),
        KindInfo("seat_sensor", _H, Role.SEAT),
        KindInfo("sos_button", _H, Role.SOS),
        KindInfo("fall_detector", _H, Role.SOS),
        KindInfo("smart_plug", _H, Role.APPLIANCE),
        KindInfo("climate_sensor", _H),
        KindInfo("water_flow_sensor", _H, Role.APPLIANCE),
        KindInfo("button", _H),
        KindInfo("other", _O, Role.OTHER),
    )
}

#: Rooms the suggestions name (a role's room is free text; these get translated labels).
ROOMS = (
    "bedroom",
    "bathroom",
    "kitchen",
    "living_room",
    "balcony",
    "fridge",
    "cupboard",
    "hallway",
    "entrance",
)

#: Kind codes earlier versions inferred, and what they are in this catalogue (migration 0015
#: does the same in SQL, with a look at the device's metrics where one old code meant several).
LEGACY_KINDS: Mapping[str, str] = {
    "door_sensor": "door_contact",
    "meter": "electricity_meter",
    "card_reader": "gate_reader",
    "equipment_room": "room_climate",
}
