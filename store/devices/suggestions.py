"""Suggest a device's kind and household role from what is knowable about it: the features a
gateway describes (Zigbee2MQTT `exposes`), the metrics, units and event types it sends, its
model's description, and, weakest of all, the name people gave it.

Pure functions. A suggestion is only ever stored as one: a kind or role a person confirmed is
never replaced by it (store/devices/descriptions.py, store/devices/device_edits.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from store.devices.catalogue import KINDS, Role

#: `action` values and event types that mean someone needs help.
SOS_WORDS = frozenset({"sos", "emergency", "panic"})


@dataclass(frozen=True, slots=True)
class Clues:
    """What is known of a device; every field may be empty."""

    #: Feature or metric names: Zigbee2MQTT expose names (`contact`, `occupancy`, `power` ...)
    #: or the metric names it sends (`door_open`, `energy_kwh` ...).
    features: frozenset[str] = frozenset()
    #: Values its `action` feature can take (`single`, `sos` ...).
    actions: frozenset[str] = frozenset()
    #: SenML units (`Cel`, `%RH`, `kWh`, `m3` ...).
    units: frozenset[str] = frozenset()
    #: Event types it sends (`sos`, `bed_occupied`, `appliance_on` ...).
    event_types: frozenset[str] = frozenset()
    #: The model's words: vendor, model and description ("Aqara door and window sensor").
    description: str = ""
    #: The name people gave it (a friendly name, a display name): a weak hint.
    name: str = ""


@dataclass(frozen=True, slots=True)
class RoleSuggestion:
    role: Role
    #: The room of a door or motion role (`bedroom`, `fridge` ...), None when not known.
    room: str | None = None


def _words(*patterns: str) -> re.Pattern[str]:
    """A pattern matching any of `patterns`: ASCII words as whole words, others anywhere."""
    parts = [rf"\b{p}\b" if p.isascii() else p for p in patterns]
    return re.compile("|".join(parts))


_BED = _words("bed", "beds", "mattress", "床", "床垫")
_SEAT = _words("seat", "chair", "sofa", "couch", "armchair", "cushion", "椅", "沙发", "坐垫")
_MAT = _words("pressure mat", "pressure pad", "pressure sensor", "occupancy mat", "压力垫", "压力")
_FRONT = _words(
    "front door", "main door", "entrance door", "entry door", "front", "entrance",
    "大门", "入户门", "进户门", "户门", "正门",
)  # fmt: skip
#: Room words, most specific first: "fridge door" is the fridge, not a door of the kitchen.
_ROOMS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("fridge", _words("fridge", "refrigerator", "freezer", "冰箱", "冰柜")),
    ("cupboard", _words("cupboard", "cabinet", "wardrobe", "closet", "drawer", "柜", "抽屉")),
    ("balcony", _words("balcony", "terrace", "阳台", "露台")),
    ("bathroom", _words(
        "bathroom", "toilet", "washroom", "restroom", "shower", "wc", "卫生间", "浴室",
        "厕所", "洗手间",
    )),
    ("bedroom", _words("bedroom", "卧室", "睡房")),
    ("kitchen", _words("kitchen", "厨房")),
    ("living_room", _words("living", "living room", "lounge", "sitting room", "客厅", "起居室")),
    ("hallway", _words("hall", "hallway", "corridor", "走廊", "过道", "门厅", "玄关")),
)  # fmt: skip
_SOS_NAME = _words("sos", "emergency", "panic", "紧急", "呼叫", "求助")
_PLUG_NAME = _words("plug", "socket", "kettle", "插座", "水壶")

# (feature or metric names that must all be present, kind): the first match wins, so specific
# rules come first (a leak detector reports a temperature too, a plug a voltage).
_FEATURE_RULES: tuple[tuple[frozenset[str], str], ...] = tuple(
    (frozenset(names.split()), kind)
    for names, kind in (
        ("water_leak", "leak_detector"),
        ("smoke", "smoke_detector"),
        ("trips", "elevator"),
        ("floor door_cycles", "elevator"),
        ("level_pct", "water_tank"),
        ("pressure_bar current_a", "booster_pump"),
        ("granted_count", "gate_reader"),
        ("denied_count", "gate_reader"),
        ("contact", "door_contact"),
        ("door_open", "door_contact"),
        ("occupancy", "motion_sensor"),
        ("presence", "motion_sensor"),
        ("state power", "smart_plug"),
        ("state energy", "smart_plug"),
        ("state power_w", "smart_plug"),
        ("on power_w", "street_light"),
        ("water_m3", "water_meter"),
        ("flow_lpm", "water_flow_sensor"),
        ("flow", "water_flow_sensor"),
        ("energy", "electricity_meter"),
        ("energy_kwh", "electricity_meter"),
        ("power", "smart_plug"),
        ("power_w", "electricity_meter"),
        ("temperature", "climate_sensor"),
        ("temperature_c", "climate_sensor"),
        ("humidity", "climate_sensor"),
        ("humidity_pct", "climate_sensor"),
        ("action", "button"),
    )
)
_EVENT_KINDS: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({"fall"}), "fall_detector"),
    (frozenset({"bed_occupied", "bed_vacant"}), "bed_sensor"),
    (frozenset({"seat_occupied", "seat_vacant"}), "seat_sensor"),
    (frozenset({"appliance_on", "appliance_off"}), "smart_plug"),
    (frozenset({"access_granted", "access_denied"}), "gate_reader"),
    (frozenset({"pump_start", "pump_stop"}), "booster_pump"),
    (frozenset({"elevator_trip"}), "elevator"),
    (frozenset({"smoke"}), "smoke_detector"),
    (frozenset({"water_leak"}), "leak_detector"),
    (frozenset({"door_open", "door_closed"}), "door_contact"),
    (frozenset({"motion"}), "motion_sensor"),
)
_UNIT_KINDS: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({"kWh", "Wh", "W", "VA"}), "electricity_meter"),
    (frozenset({"m3", "l", "L"}), "water_meter"),
    (frozenset({"m3/s", "l/s", "L/min"}), "water_flow_sensor"),
    (frozenset({"Cel", "%RH", "K", "degC"}), "climate_sensor"),
)


def text_of(*parts: str | None) -> str:
    """Lower-cased words of `parts`, `_`, `-` and `/` read as spaces (`hh-01-pir-bedroom`)."""
    joined = " ".join(p for p in parts if p)
    return re.sub(r"[_\-/.]+", " ", joined).lower()


def suggest_kind(clues: Clues) -> str | None:
    """The catalogue kind the clues point to, or None when they say nothing."""
    if clues.actions & SOS_WORDS or "sos" in clues.event_types:
        return "sos_button"
    occupancy = bool({"occupancy", "presence"} & clues.features) or bool(
        {"bed_occupied", "seat_occupied"} & clues.event_types
    )
    if occupancy:
        rest = _rest_kind(text_of(clues.description), text_of(clues.name))
        if rest is not None:
            return rest
    for types, kind in _EVENT_KINDS:
        if types & clues.event_types:
            return kind
    for required, kind in _FEATURE_RULES:
        if required <= clues.features:
            return kind
    for units, kind in _UNIT_KINDS:
        if units & clues.units:
            return kind
    name = text_of(clues.name)
    if _SOS_NAME.search(name):
        return "sos_button"
    if _PLUG_NAME.search(name):
        return "smart_plug"
    return None


def _rest_kind(description: str, name: str) -> str | None:
    """bed_sensor or seat_sensor for an occupancy device whose model or name says so."""
    for text in (description, name):
        if _BED.search(text):
            return "bed_sensor"
        if _SEAT.search(text):
            return "seat_sensor"
    if _MAT.search(description):
        return "bed_sensor"  # a pressure mat with no word of where: most lie beside a bed
    return None


def room_of(*texts: str | None) -> str | None:
    """The room a name or description mentions (`fridge`, `bedroom` ...), None if none."""
    text = text_of(*texts)
    for room, pattern in _ROOMS:
        if pattern.search(text):
            return room
    return None


def suggest_role(kind: str | None, *texts: str | None) -> RoleSuggestion | None:
    """The household role of a device of `kind` named or described by `texts`.

    A door contact is the front door unless its name says another room ("fridge", "冰箱",
    "bedroom door"); one whose name says front door or entrance is the front door whatever else
    it says. None for kinds that have no role in a household (pumps, tanks ...)."""
    info = KINDS.get(kind or "")
    if info is None or info.household_role is None:
        return None
    role = info.household_role
    if role is Role.FRONT_DOOR:
        if _FRONT.search(text_of(*texts)):
            return RoleSuggestion(Role.FRONT_DOOR)
        room = room_of(*texts)
        if room is None or room == "hallway":
            return RoleSuggestion(Role.FRONT_DOOR)
        return RoleSuggestion(Role.OTHER_DOOR, room)
    if role is Role.MOTION:
        return RoleSuggestion(Role.MOTION, room_of(*texts))
    return RoleSuggestion(role)


def clues_from_metrics(metrics: Iterable[str], events: Iterable[str] = (), name: str = "") -> Clues:
    """Clues from what a device sent: its metric names and event types, and its name."""
    return Clues(features=frozenset(metrics), event_types=frozenset(events), name=name)
