"""The scenario file schema (pydantic, at the YAML boundary): site, devices, homes, incidents."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from device_sims.devices import KINDS
from device_sims.faults import ALL_KINDS

_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)([dhms]))")
_UNIT_S = {"d": 86_400.0, "h": 3_600.0, "m": 60.0, "s": 1.0}


def parse_duration(value: object) -> float:
    """'90s', '5m', '2h', '7d', '1d12h' -> seconds. Bare numbers are refused: units are explicit."""
    if isinstance(value, str):
        text = value.strip()
        parts = _DURATION.findall(text)
        if parts and "".join(n + u for n, u in parts) == text:
            return sum(float(n) * _UNIT_S[u] for n, u in parts)
    raise ValueError(f"{value!r} is not a duration like '90s', '5m', '2h', '7d' or '1d12h'")


def parse_at(value: object) -> float | datetime:
    """An offset from the scenario start ('2d13h') or an absolute time with a UTC offset."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{value.isoformat()} has no UTC offset")
        return value
    return parse_duration(value)


Duration = Annotated[float, BeforeValidator(parse_duration)]
At = Annotated[float | datetime, BeforeValidator(parse_at)]
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.{}:-]{1,64}$")]
Params = dict[str, float | str]
SensorRole = Literal["door", "bed", "chair", "water", "kettle", "sos"]
#: A name per language tag ("en", "zh-CN"): what people call a thing in each language. Names of
#: repeated things are templates ({n}; a device's also {building}, its building's name).
LanguageTag = Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$")]
Names = dict[LanguageTag, Annotated[str, Field(min_length=1, max_length=200)]]
#: A household sensor, for its name: a sensor role or "pir_<room>" (a motion sensor's room).
SensorName = Literal[
    "door", "bed", "chair", "water", "kettle", "sos",
    "pir_bedroom", "pir_bathroom", "pir_kitchen", "pir_living",
]  # fmt: skip
Room = Literal["bedroom", "bathroom", "kitchen", "living"]
_ROOMS: list[Room] = ["bedroom", "bathroom", "kitchen", "living"]
_SENSORS: list[SensorRole] = ["door", "bed", "water", "kettle", "sos"]


def _one_of(value: str, allowed: object, what: str) -> str:
    names = sorted(allowed)  # type: ignore[call-overload]  # any iterable of names
    if value not in names:
        raise ValueError(f"unknown {what} {value!r}; expected one of: {', '.join(names)}")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SiteModel(_Strict):
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
    name: str
    timezone: str
    latitude: float = Field(default=31.2, ge=-66.0, le=66.0)
    longitude: float = Field(default=121.5, ge=-180.0, le=180.0)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Asia/Shanghai)") from None
        return value


class DeviceGroup(_Strict):
    kind: str
    count: int = Field(default=1, ge=1, le=100_000)
    #: Id template: {building}, {kind}, {n} (1-based); default "<building>-<kind>-<n>".
    id: str | None = None
    interval: Duration | None = None
    params: Params = Field(default_factory=dict)
    #: Each device's name by language ({n}: its number in the group; {building}: its building).
    name: Names = Field(default_factory=dict)

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        return _one_of(value, KINDS, "device kind")


class BuildingModel(_Strict):
    #: With repeat > 1, a template with {n}: "b{n:02d}".
    id: Identifier
    repeat: int = Field(default=1, ge=1, le=10_000)
    floors: int = Field(default=18, ge=1, le=200)
    #: The building's name by language ({n}: its number); the first is its name in the store.
    name: Names = Field(default_factory=dict)
    devices: list[DeviceGroup] = Field(default_factory=list)


class HouseholdModel(_Strict):
    id: Identifier
    #: Shown to people and used in Zigbee2MQTT friendly names: spaces, '/', Chinese are fine.
    label: str
    repeat: int = Field(default=1, ge=1, le=10_000)
    building: str | None = None
    format: Literal["native", "zigbee2mqtt"] = "native"
    rooms: list[Room] = Field(default_factory=lambda: list(_ROOMS), min_length=1)
    sensors: list[SensorRole] = Field(default_factory=lambda: list(_SENSORS))
    #: Overrides of the drawn profile: wake_h, bed_h, night_trips_mean, p_nap, ...
    routine: dict[
        Literal[
            "wake_h", "wake_sd_h", "bed_h", "night_trips_mean", "p_morning_out",
            "p_afternoon_out", "p_nap", "nap_in_bed",
        ],
        float,
    ] = Field(default_factory=dict)  # fmt: skip


class Expectation(_Strict):
    category: Literal["maintenance", "care", "security"]
    #: The rule family expected to fire: threshold, trend, offline, inactivity, emergency,
    #: night_activity, usage, ...
    rule: Annotated[str, Field(pattern=r"^[a-z_]{1,64}$")]
    subject: Identifier
    #: Latest acceptable time, counted from the incident's start.
    within: Duration
    metric: str | None = None
    severity: Literal["info", "warning", "critical"] | None = None


class IncidentModel(_Strict):
    kind: str
    target: Identifier
    at: At
    duration: Duration | None = None
    params: Params = Field(default_factory=dict)
    expect: list[Expectation] = Field(default_factory=list)
    note: str = ""

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        return _one_of(value, ALL_KINDS, "incident kind")


class QuietModel(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    start: At = Field(alias="from")
    to: At
    #: "site", a device id or a household id.
    scope: Identifier
    category: Literal["maintenance", "care", "security"] | None = None
    reason: str = ""


class ScenarioModel(_Strict):
    name: Identifier
    description: str = ""
    site: SiteModel
    start: datetime
    duration: Duration
    seed: int = 0
    format: Literal["native", "senml"] = "native"
    zigbee2mqtt_base: str = "zigbee2mqtt"
    gateway: Identifier = "sim-gateway"
    #: The gateway's name by language.
    gateway_name: Names = Field(default_factory=dict)
    #: Household sensors' names by language ({household}: the household's label).
    sensor_names: dict[SensorName, Names] = Field(default_factory=dict)
    buildings: list[BuildingModel] = Field(default_factory=list)
    site_devices: list[DeviceGroup] = Field(default_factory=list)
    households: list[HouseholdModel] = Field(default_factory=list)
    incidents: list[IncidentModel] = Field(default_factory=list)
    quiet: list[QuietModel] = Field(default_factory=list)

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("start needs a UTC offset, e.g. 2025-03-03T00:00:00+08:00")
        return value
