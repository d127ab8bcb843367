"""Frozen records that cross package boundaries: what ingest hands the store, what rules read back.

Devices are named by `(site, device)` identifiers here; the store resolves them (and metric names)
to integer ids when it writes, so producers never need a database round trip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class DeviceRef:
    site: str
    device: str


@dataclass(frozen=True, slots=True)
class Reading:
    site: str
    device: str
    metric: str
    ts: datetime
    value: float


@dataclass(frozen=True, slots=True)
class Event:
    site: str
    device: str
    ts: datetime
    type: str
    subject: str | None = None
    attrs: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A device's `status` message (online/offline), its last will included.

    `ts` is when ingest received it: a status carries no device time. `data_before` is the
    newest data time (epoch s) among the messages that arrived before it in its batch, None for
    the first: the store records it, and an engine on event time places the status by it
    (rules/placement.py)."""

    site: str
    device: str
    ts: datetime
    online: bool
    data_before: float | None = None


@dataclass(frozen=True, slots=True)
class Alias:
    """A name a gateway uses for a device (a Zigbee2MQTT friendly name under its base topic)."""

    source: str  # e.g. "zigbee2mqtt:<base topic>"
    name: str
    site: str
    device: str


@dataclass(frozen=True, slots=True)
class DeviceDescription:
    """What a gateway says a device is (a Zigbee2MQTT `bridge/devices` entry) and what that
    suggests. Stored as suggestions: a kind or role a person confirmed stays as it is."""

    site: str
    device: str
    #: Merged into the device's `attrs` (model, vendor, features ...).
    attrs: dict[str, object]
    #: The gateway's name for the device: its display name while people gave none.
    name: str | None = None
    kind: str | None = None
    role: str | None = None
    role_room: str | None = None
    #: The gateway name to register for the device (None: registered already).
    alias: Alias | None = None


@dataclass(frozen=True, slots=True)
class Reject:
    """A message that could not be stored as data, and why."""

    topic: str
    payload_prefix: bytes
    reason: str
    received_at: datetime
    payload_size: int = 0
    #: The broker marked the message as a redelivery: if it was stored before, store it once.
    redelivered: bool = False


@dataclass(frozen=True, slots=True)
class Origin:
    """The MQTT message a Message came from, for a reject the writer records about part of it
    (readings over the series limit, values conflicting with stored ones)."""

    topic: str
    payload_prefix: bytes
    payload_size: int
    redelivered: bool = False

    def reject(self, reason: str, received_at: datetime) -> Reject:
        return Reject(
            topic=self.topic,
            payload_prefix=self.payload_prefix,
            reason=reason,
            received_at=received_at,
            payload_size=self.payload_size,
            redelivered=self.redelivered,
        )


@dataclass(frozen=True, slots=True)
class Message:
    """Everything one MQTT message turned into; a batch is a sequence of these.

    `received_at` is when ingest received it; `kinds` pairs devices with the kind the decoder
    inferred for them (empty when the message says nothing about it). `origin` is set when the
    message has readings, which the writer may refuse in part.
    """

    received_at: datetime
    readings: tuple[Reading, ...] = ()
    events: tuple[Event, ...] = ()
    statuses: tuple[StatusChange, ...] = ()
    aliases: tuple[Alias, ...] = ()
    rejects: tuple[Reject, ...] = ()
    kinds: tuple[tuple[DeviceRef, str], ...] = ()
    origin: Origin | None = None
    #: Gateways' descriptions of devices (they say nothing of when a device was last heard).
    descriptions: tuple[DeviceDescription, ...] = ()
