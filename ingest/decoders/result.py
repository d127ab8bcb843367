"""What a decoder returns: Decoded data, a Rejected message with its reason, or an Ignored one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ingest.json_bounds import JsonLimits
from store.records import Alias, DeviceDescription, DeviceRef, Event, Reading, StatusChange


@dataclass(frozen=True, slots=True)
class Decoded:
    readings: tuple[Reading, ...] = ()
    events: tuple[Event, ...] = ()
    statuses: tuple[StatusChange, ...] = ()
    aliases: tuple[Alias, ...] = ()
    #: Device kinds the message reveals ("door_sensor", "pump", ...), for auto-registration.
    kinds: tuple[tuple[DeviceRef, str], ...] = ()
    #: What a gateway's device list says each device is (Zigbee2MQTT `bridge/devices`).
    descriptions: tuple[DeviceDescription, ...] = ()


@dataclass(frozen=True, slots=True)
class Rejected:
    """The message is not valid data; `reason` is stored and read by people, so make it precise."""

    reason: str


@dataclass(frozen=True, slots=True)
class Ignored:
    """Valid traffic that carries no new data (a Zigbee2MQTT per-attribute echo, a bridge topic)."""

    reason: str


DecodeResult = Decoded | Rejected | Ignored


@dataclass(frozen=True, slots=True)
class DecodeContext:
    """What decoders need to know beyond the message itself; built by the ingest service."""

    #: Zigbee2MQTT base topic -> site id of the gateway publishing under it.
    zigbee2mqtt_bases: Mapping[str, str] = field(default_factory=dict)
    #: (alias source, gateway name) -> device, from the registry (operators may re-point these).
    aliases: Mapping[tuple[str, str], DeviceRef] = field(default_factory=dict)
    max_payload_bytes: int = 256 * 1024
    #: How deep, long and many the values of a JSON payload may be.
    json_limits: JsonLimits = JsonLimits()
    #: Timestamps later than received_at + this are rejected (device clocks run fast).
    future_tolerance_s: float = 300.0
    #: Timestamps older than received_at - this are rejected (beyond the retention window).
    retention_days: int = 365
    #: Optional override of "now" for tests; decoders use the message's received_at otherwise.
    now: datetime | None = None
