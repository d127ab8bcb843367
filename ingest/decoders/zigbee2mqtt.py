"""Zigbee2MQTT `<base>/<friendly_name>` objects → readings and events of the registered device.

`<base>/bridge/devices`, the bridge's list of its devices, is read by zigbee2mqtt_bridge.py;
other bridge topics are gateway state and ignored.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from datetime import datetime

from ingest import kinds, validation
from ingest.decoders import zigbee2mqtt_bridge
from ingest.decoders.result import DecodeContext, Decoded, DecodeResult, Ignored, Rejected
from ingest.wire import Status
from store.records import Alias, DeviceRef, Event, Reading, StatusChange

#: Actions that mean someone needs help; any other action is a plain button press.
SOS_ACTIONS = frozenset({"emergency", "sos", "panic"})
#: Zigbee2MQTT names → metric names where the unit needs saying. Other keys keep their
#: sanitised name (`linkquality`, `illuminance_lux`, `water_leak`, ...).
METRIC_NAMES: dict[str, str] = {
    "battery": "battery_pct",
    "temperature": "temperature_c",
    "device_temperature": "device_temperature_c",
    "humidity": "humidity_pct",
    "voltage": "voltage_mv",  # battery devices report millivolts; mains devices: see below
    "power": "power_w",
    "energy": "energy_kwh",
    "current": "current_a",
    "pressure": "pressure_hpa",
}
#: On metering plugs `voltage` is the mains voltage in volts, not a battery's millivolts.
MAINS_KEYS = frozenset({"power", "energy", "current"})
#: Attributes whose value is an object: in "attribute output" mode they get their own topic
#: `<base>/<name>/<attribute>` with a JSON object, which must not pass for a device.
OBJECT_ATTRIBUTES = frozenset({"update", "device", "color"})
#: Keys handled by their own rule rather than as plain readings.
_SPECIAL_KEYS = frozenset({"last_seen", "action", "contact", "occupancy"})
_SWITCH_STATES = {"ON": 1.0, "OFF": 0.0}
_NUMERIC_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_NOT_ID_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")
_DEVICE_PREFIX = "z2m-"
_MAX_ID_CHARS = 64


def match_base(topic: str, bases: Mapping[str, str]) -> str | None:
    """The configured base topic `topic` lies under (the longest, if bases nest)."""
    matches = [base for base in bases if topic.startswith(base + "/")]
    return max(matches, key=len) if matches else None


def derived_device_id(name: str) -> str:
    """A stable device id for a friendly name that has no registered alias.

    `z2m-<name>` when the name is already a valid id; otherwise an ASCII slug of it plus
    8 hex digits of its SHA-1, so that "Küche 1" and "Kuche/1" still get different ids.
    """
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = _NOT_ID_CHARS.sub("-", folded).strip("-")
    if slug == name and len(_DEVICE_PREFIX) + len(slug) <= _MAX_ID_CHARS:
        return _DEVICE_PREFIX + slug
    digest = hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:8]
    slug = slug[: _MAX_ID_CHARS - len(_DEVICE_PREFIX) - len(digest) - 1].rstrip("-")
    return f"{_DEVICE_PREFIX}{slug}-{digest}" if slug else _DEVICE_PREFIX + digest


def decode(base: str, rest: str, text: str, now: datetime, context: DecodeContext) -> DecodeResult:
    """Decode a message on `<base>/<rest>`; `now` is the receive time."""
    topic = f"{base}/{rest}"
    segments = rest.split("/")
    if not rest or "" in segments:
        return Rejected(f"topic {topic!r} has no friendly name (or an empty level) after {base!r}")
    if segments == ["bridge", "devices"]:
        return zigbee2mqtt_bridge.decode_devices(
            base, text, context, lambda b, name: _device(b, name, context)
        )
    if segments[0] == "bridge":
        return Ignored(f"Zigbee2MQTT bridge topic {topic!r} (gateway state, not device data)")
    if {"set", "get"} & set(segments[1:]):
        return Ignored(f"Zigbee2MQTT command topic {topic!r} (a request to a device, not data)")
    if len(segments) > 1 and segments[-1] == "availability":
        name = rest.removesuffix("/availability")
        return _availability(base, name, text, now, context)
    data = _json_object(text, context)
    if isinstance(data, Rejected):
        return data
    if data is None or _is_attribute_echo(base, segments, context):
        return Ignored(
            f"per-attribute echo on {topic!r}: Zigbee2MQTT repeats each attribute there, "
            "and the JSON object on <base>/<friendly name> already carries it"
        )
    return _device_message(base, rest, data, now, context)


def _json_object(text: str, context: DecodeContext) -> dict[str, object] | None | Rejected:
    """The payload as a JSON object; None for plain text or other JSON values (attribute echoes)."""
    if not text.lstrip().startswith("{"):
        return None
    data = validation.load_json(text, context.json_limits)
    return data if isinstance(data, dict | Rejected) else None


def _is_attribute_echo(base: str, segments: list[str], context: DecodeContext) -> bool:
    if len(segments) < 2:
        return False
    source = f"zigbee2mqtt:{base}"
    if (source, "/".join(segments)) in context.aliases:
        return False
    parent_known = (source, "/".join(segments[:-1])) in context.aliases
    return parent_known or segments[-1] in OBJECT_ATTRIBUTES


def _device(base: str, name: str, context: DecodeContext) -> tuple[DeviceRef, tuple[Alias, ...]]:
    source = f"zigbee2mqtt:{base}"
    known = context.aliases.get((source, name))
    if known is not None:
        return known, ()
    site = context.zigbee2mqtt_bases[base]
    device = derived_device_id(name)
    return DeviceRef(site, device), (Alias(source, name, site, device),)


def _availability(
    base: str, name: str, text: str, now: datetime, context: DecodeContext
) -> DecodeResult:
    state: object = text.strip()
    if isinstance(state, str) and state.startswith("{"):
        data = validation.load_json(state, context.json_limits)
        if isinstance(data, Rejected):
            return data
        state = data.get("state") if isinstance(data, dict) else None
    if state not in (Status.ONLINE, Status.OFFLINE):
        return Rejected(
            'availability must be "online", "offline" or {"state": "online"}, '
            f"got {validation.describe(state)}"
        )
    device, aliases = _device(base, name, context)
    status = StatusChange(device.site, device.device, now, state == Status.ONLINE)
    return Decoded(statuses=(status,), aliases=aliases)


def _device_message(
    base: str, name: str, data: dict[str, object], now: datetime, context: DecodeContext
) -> DecodeResult:
    ts = validation.message_time(data.get("last_seen"), "last_seen", now, context)
    if isinstance(ts, Rejected):
        return ts
    values = _readings(data)
    if isinstance(values, Rejected):
        return values
    event_types = _event_types(data)
    if not values and not event_types:
        return Ignored(
            f"message from {name!r} carries nothing to store "
            "(only nulls, text, nested objects, an action reset or occupancy cleared)"
        )
    device, aliases = _device(base, name, context)
    sos = any(type_ == "sos" for type_, _ in event_types)
    kind = "sos_button" if sos else kinds.infer_kind(data.keys(), kinds.ZIGBEE2MQTT_RULES)
    return Decoded(
        readings=tuple(Reading(device.site, device.device, m, ts, v) for m, v in values.items()),
        events=tuple(
            Event(device.site, device.device, ts, type_, attrs=attrs)
            for type_, attrs in event_types
        ),
        aliases=aliases,
        kinds=((device, kind),) if kind else (),
    )


def _readings(data: dict[str, object]) -> dict[str, float] | Rejected:
    values: dict[str, float] = {}
    contact, occupancy = data.get("contact"), data.get("occupancy")
    if isinstance(contact, bool):
        values["door_open"] = 0.0 if contact else 1.0  # Zigbee2MQTT: contact true = closed
    if occupancy is True:
        # occupancy false is Zigbee2MQTT's own timeout, not an observation: not stored.
        values["occupancy"] = 1.0
    mains = not MAINS_KEYS.isdisjoint(data)
    for key, raw in data.items():
        if key in _SPECIAL_KEYS:
            continue
        value = _attribute_value(key, raw)
        if isinstance(value, Rejected):
            return value
        metric = _metric_name(key, mains)
        if value is not None and metric is not None:
            values[metric] = value
    return values


def _attribute_value(key: str, raw: object) -> float | None | Rejected:
    """A number for the attribute, or None when it is not one (null, free text, nested object)."""
    if isinstance(raw, str):
        if raw in _SWITCH_STATES:
            return _SWITCH_STATES[raw]
        if _NUMERIC_TEXT.fullmatch(raw.strip()) is None:
            return None
        raw = float(raw)
    if raw is None or isinstance(raw, dict | list):
        return None
    return validation.numeric_value(raw, f'value of "{key}"')


def _metric_name(key: str, mains: bool) -> str | None:
    if key == "voltage" and mains:
        return "voltage_v"
    return METRIC_NAMES.get(key) or validation.sanitize_metric_name(key)


def _event_types(data: dict[str, object]) -> list[tuple[str, dict[str, object]]]:
    events: list[tuple[str, dict[str, object]]] = []
    action = data.get("action")
    # An empty or null action is Zigbee2MQTT resetting the transient value, not a second press.
    if isinstance(action, str) and action:
        if action.lower() in SOS_ACTIONS:
            events.append(("sos", {"action": action}))
        else:
            events.append(("button", {"action": action}))
    if data.get("occupancy") is True:
        events.append(("motion", {}))
    return events
