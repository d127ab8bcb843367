"""Devices, their latest values and readings, events, and a site's overview."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from api.schemas.common import Model

DeviceStatus = Literal["online", "offline", "unknown"]
DeviceState = Literal["alerting", "online", "offline", "unknown"]


class DevicePublic(Model):
    id: int
    site_id: str
    device_key: str = Field(description="The device id of its MQTT topic, unique per site.")
    kind: str | None
    name: str | None
    status: DeviceStatus = Field(description="From the device's status channel.")
    status_changed_at: datetime | None
    first_seen: datetime
    last_seen: datetime
    household_id: str | None


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
    kind: str | None
    state: DeviceState
    worst_severity: str | None
    last_seen: datetime


class SiteOverview(Model):
    site_id: str
    devices: int
    by_state: list[StateCount] = Field(description="Devices by kind and state.")
    open_alerts: list[AlertCount] = Field(description="Unresolved alerts by category/severity.")
    attention: list[AttentionDevice] = Field(
        description="Devices with open alerts (worst first), then offline ones; at most 50."
    )
