"""Devices, their latest values and readings, events, and a site's overview."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from api.schemas.common import ID_PATTERN, Model

DeviceStatus = Literal["online", "offline", "unknown"]
DeviceState = Literal["alerting", "online", "offline", "unknown"]
#: Whether a fact was inferred by Courtyard or said by a person (then never overwritten).
FactState = Literal["suggested", "confirmed"]
Role = Literal[
    "front_door", "other_door", "motion", "bed", "seat", "sos", "appliance", "other"
]  # fmt: skip
_Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
_Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
_LanguageTag = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$")]
_Notes = Annotated[str, StringConstraints(min_length=1, max_length=4000, pattern=r"^[^\x00]*$")]


class DevicePublic(Model):
    id: int
    site_id: str
    device_key: str = Field(description="The device id of its MQTT topic, unique per site.")
    display_name: str = Field(
        description="What to call it for the caller: its name in the caller's language, "
        "else its name, else its device id."
    )
    name: str | None
    names: dict[str, str] = Field(description='Names per language tag, e.g. {"zh-CN": ...}.')
    kind: str | None = Field(description="A code of the kind catalogue (GET /devices/kinds).")
    kind_state: FactState | None
    status: DeviceStatus = Field(
        description="From the device's status messages (MQTT last will, availability) when it "
        "has ever sent one; else judged from its data: online while its silence since "
        "`last_seen` is within three of its usual reporting intervals (the median gap of its "
        "last readings; at least 15 minutes, at most a day), offline beyond; unknown only "
        "before it is first heard from."
    )
    status_source: Literal["status", "data"] | None = Field(
        description="Where `status` came from: `status` messages, or judged from its `data`; "
        "null when it was never heard from."
    )
    status_changed_at: datetime | None
    first_seen: datetime | None = Field(description="Null: registered, not heard from yet.")
    last_seen: datetime | None
    building_id: str | None
    unit: str | None
    room: str | None
    household_id: str | None
    role: Role | None = Field(description="Its role in its household.")
    role_room: str | None = Field(description="The room of a door or motion role.")
    role_state: FactState | None
    installed_on: date | None
    notes: str | None
    model: str | None = Field(description="The model its gateway reports (Zigbee2MQTT).")


class DeviceUpdate(Model):
    """The facts to set; a field left out stays as it is, null clears it. Setting a kind or a
    role confirms it (suggestions never replace it); null hands it back to the suggestions."""

    name: _Name | None = None
    names: dict[_LanguageTag, _Name] | None = None
    kind: _Id | None = None
    building_id: _Id | None = None
    unit: _Name | None = None
    room: _Name | None = None
    household_id: _Id | None = None
    role: Role | None = None
    role_room: _Name | None = None
    installed_on: date | None = None
    notes: _Notes | None = None


class KindPublic(Model):
    code: str
    category: Literal["facility", "access", "home", "other"]
    label: str = Field(description="In the caller's language.")
    household_role: Role | None
    builtin: bool


class FieldChange(Model):
    field: str
    before: object
    after: object


class ImportRowResult(Model):
    row: int = Field(description="1 for the first device row (a CSV header is not counted).")
    device_key: str
    action: Literal["create", "update", "unchanged"]
    changes: list[FieldChange]


class ImportResult(Model):
    dry_run: bool
    applied: int = Field(description="Devices created or changed (0 on a dry run).")
    rows: list[ImportRowResult]


class SeriesPublic(Model):
    id: int
    metric: str


class DeviceDetail(DevicePublic):
    metrics: list[SeriesPublic]


class DevicePage(Model):
    items: list[DevicePublic]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class DeviceRef(Model):
    device_id: int
    site_id: str
    device_key: str


class LatestValue(Model):
    metric: str
    series_id: int
    ts: datetime | None
    value: float | None


class LatestValues(DeviceRef):
    values: list[LatestValue]


class ReadingPublic(Model):
    ts: datetime
    value: float


class ReadingPage(DeviceRef):
    metric: str
    items: list[ReadingPublic]
    next_cursor: str | None


class Buckets(Model):
    """Columns, one entry per bucket (the shape chart libraries such as uPlot draw)."""

    start: list[int] = Field(description="Start of each bucket, in Unix seconds.")
    avg: list[float]
    min: list[float]
    max: list[float]
    count: list[int]


class Aggregates(DeviceRef):
    metric: str
    bucket_s: int = Field(description="Bucket length in seconds.")
    source: Literal["raw", "hourly"] = Field(
        description="`hourly`: computed from the hourly rollup (buckets of an hour or more)."
    )
    timezone: str = Field(description="The site's zone, which day buckets follow.")
    buckets: Buckets


class EventPublic(Model):
    device_id: int
    site_id: str
    device_key: str
    ts: datetime
    type: str
    subject: str
    attrs: dict[str, object]


class EventPage(Model):
    items: list[EventPublic]
    next_cursor: str | None


class StateCount(Model):
    kind: str
    state: DeviceState
    count: int


class AlertCount(Model):
    category: str
    severity: str
    count: int


class AttentionDevice(Model):
    id: int
    device_key: str
    name: str | None = Field(description="The name people gave the device (any language).")
    names: dict[str, str] = Field(description="Its names by language tag.")
    kind: str | None
    state: DeviceState
    worst_severity: str | None
    last_seen: datetime


class SiteOverview(Model):
    site_id: str
    devices: int
    by_state: list[StateCount] = Field(
        description="Devices by kind and state (alerting, else as a device's `status`)."
    )
    open_alerts: list[AlertCount] = Field(description="Unresolved alerts by category/severity.")
    attention: list[AttentionDevice] = Field(
        description="Devices with open alerts (worst first), then offline ones; at most 50."
    )
