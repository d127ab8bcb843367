"""Wire format v1: topic grammar, identifier patterns, channels, timestamps, payload encoding.

This module is the contract between devices and Courtyard. The ingest decoders read with it and
the device simulators write with it, so it imports nothing else of ours and does no I/O.

    courtyard/v1/<site>/<device_id>/<channel>      channel: telemetry | event | status
    site, device_id: [A-Za-z0-9_.-]{1,64}, but not "." or ".."

    telemetry  {"ts": <RFC 3339 | epoch s | epoch ms>, "readings": {"level_pct": 81.5}}
               or a JSON array of such objects, or a SenML JSON pack (RFC 8428)
    event      {"ts": ..., "type": "access_granted", "subject": "card:8f3a", "attrs": {...}}
    status     online | offline   (retained; devices set offline as their last will)
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import orjson

TOPIC_ROOT = "courtyard/v1"
#: What an ingest worker subscribes to (wrapped in `$share/<group>/` when shared): everything
#: under the root, so that a message of the wrong shape is stored as a reject with its reason
#: rather than delivered to nobody.
SUBSCRIPTION = f"{TOPIC_ROOT}/#"
#: The shape of a v1 topic, as reasons show it.
TOPIC_SHAPE = f"{TOPIC_ROOT}/<site>/<device>/<channel>"
_TOPIC_LEVELS = 5

ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
#: Names the pattern allows that mean "here" and "up" in paths and URLs (device pages, file
#: names, ACL patterns): never an identifier.
RESERVED_IDS = frozenset({".", ".."})
METRIC_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,63}")
EVENT_TYPE_PATTERN = re.compile(r"[a-z_]{1,64}")

# Epoch numbers above this are taken as milliseconds. 1e11 s is the year 5138 while 1e11 ms is
# 1973, so no real timestamp is ambiguous.
_EPOCH_MS_THRESHOLD = 1e11


class Channel(StrEnum):
    TELEMETRY = "telemetry"
    EVENT = "event"
    STATUS = "status"


class Status(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class Topic:
    site: str
    device: str
    channel: Channel

    def __str__(self) -> str:
        return f"{TOPIC_ROOT}/{self.site}/{self.device}/{self.channel}"


@dataclass(frozen=True, slots=True)
class Invalid:
    """Why a piece of input does not follow the wire format (a person reads `reason`)."""

    reason: str


def topic(site: str, device: str, channel: Channel) -> str:
    return f"{TOPIC_ROOT}/{site}/{device}/{channel}"


def is_identifier(value: str) -> bool:
    return ID_PATTERN.fullmatch(value) is not None and value not in RESERVED_IDS


def identifier_problem(value: str, what: str) -> Invalid | None:
    """Why `value` is not an identifier (`what` names it in the reason), or None."""
    if value in RESERVED_IDS:
        return Invalid(f"{what} {value!r} is reserved (a path step), not an identifier")
    if ID_PATTERN.fullmatch(value) is None:
        return Invalid(f"{what} {value!r} does not match {ID_PATTERN.pattern}")
    return None


def is_metric_name(value: str) -> bool:
    return METRIC_PATTERN.fullmatch(value) is not None


def is_event_type(value: str) -> bool:
    return EVENT_TYPE_PATTERN.fullmatch(value) is not None


def parse_topic(name: str) -> Topic | Invalid:
    """Split a `courtyard/v1/...` topic into site, device and channel."""
    parts = name.split("/")
    if f"{parts[0]}/{parts[1] if len(parts) > 1 else ''}" != TOPIC_ROOT:
        return Invalid(f"topic {name!r} is not under {TOPIC_ROOT}/; expected {TOPIC_SHAPE}")
    if len(parts) != _TOPIC_LEVELS:
        return Invalid(f"topic has {len(parts)} levels; expected {TOPIC_SHAPE}")
    site, device, channel = parts[2], parts[3], parts[4]
    problem = identifier_problem(site, "site") or identifier_problem(device, "device id")
    if problem is not None:
        return problem
    try:
        return Topic(site, device, Channel(channel))
    except ValueError:
        known = ", ".join(c.value for c in Channel)
        return Invalid(f"unknown channel {channel!r} (expected one of {known})")


def parse_timestamp(value: object) -> datetime | Invalid:
    """Read an RFC 3339 string, epoch seconds or epoch milliseconds as an aware UTC datetime.

    Strings without a UTC offset are refused: the wire format is UTC or explicit offsets only,
    since a device's local time cannot be guessed.
    """
    if isinstance(value, bool):
        return Invalid(f"timestamp must be RFC 3339 or epoch seconds/ms, got boolean {value}")
    if isinstance(value, int | float):
        seconds = float(value)
        if not math.isfinite(seconds) or seconds < 0:
            return Invalid(f"timestamp {value!r} is not a finite, non-negative epoch time")
        if seconds > _EPOCH_MS_THRESHOLD:
            seconds /= 1000.0
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return Invalid(f"timestamp {value!r} is out of range")
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return Invalid(f"timestamp {value!r} is not RFC 3339")
        if parsed.tzinfo is None:
            return Invalid(f"timestamp {value!r} has no UTC offset")
        return parsed.astimezone(UTC)
    return Invalid(f"timestamp must be RFC 3339 or epoch seconds/ms, got {type(value).__name__}")


def format_timestamp(ts: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, as the simulators and our own devices send it."""
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def encode_telemetry(ts: datetime | None, readings: Mapping[str, float | bool]) -> bytes:
    body: dict[str, object] = {"readings": dict(readings)}
    if ts is not None:
        body = {"ts": format_timestamp(ts), **body}
    return orjson.dumps(body)


def encode_event(
    ts: datetime | None,
    type_: str,
    subject: str | None = None,
    attrs: Mapping[str, object] | None = None,
) -> bytes:
    body: dict[str, object] = {}
    if ts is not None:
        body["ts"] = format_timestamp(ts)
    body["type"] = type_
    if subject is not None:
        body["subject"] = subject
    if attrs:
        body["attrs"] = dict(attrs)
    return orjson.dumps(body)


def encode_status(status: Status) -> bytes:
    return status.value.encode()
