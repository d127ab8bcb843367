"""What simulated devices emit (telemetry, events, status, raw bytes) and what the engine sends."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ingest.wire import Status

#: A reading value as the wire format carries it: finite numbers or booleans.
Value = float | bool


@dataclass(frozen=True, slots=True)
class Telemetry:
    ts: float  # epoch seconds, simulated time
    device: str
    readings: Mapping[str, Value]


@dataclass(frozen=True, slots=True)
class Event:
    ts: float
    device: str
    type: str
    subject: str | None = None
    attrs: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StatusChange:
    ts: float
    device: str
    status: Status


@dataclass(frozen=True, slots=True)
class Raw:
    """A deliberately malformed payload (a fault), sent as-is to the device's telemetry topic."""

    ts: float
    device: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class Published:
    """A message made in advance and published as it is: a gateway's retained device list."""

    ts: float
    device: str  # the gateway that publishes it
    topic: str
    payload: bytes
    channel: str


Emission = Telemetry | Event | StatusChange | Raw | Published


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One MQTT message, with what it carries counted for the run summary.

    `channel` is the accounting bucket: telemetry | event | status for native and SenML topics,
    zigbee2mqtt | zigbee2mqtt_availability for Zigbee2MQTT topics, malformed for fault payloads.
    """

    ts: float
    topic: str
    payload: bytes
    qos: int
    retain: bool
    channel: str
    readings: int = 0
    events: int = 0
