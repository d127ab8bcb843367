"""Zigbee2MQTT `<base>/bridge/devices` → descriptions of the gateway's devices, with the kind and
household role they suggest.

The bridge publishes this list retained, on start and whenever a device joins, leaves or is
renamed: a JSON array of devices, each with its `friendly_name`, `ieee_address`, `type` and a
`definition` (`model`, `vendor`, `description`, `exposes`) that is null for unsupported devices.
The coordinator is listed too; it is not a device people look after.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ingest import validation
from ingest.decoders.result import DecodeContext, Decoded, DecodeResult, Ignored, Rejected
from store.devices.suggestions import Clues, suggest_kind, suggest_role
from store.records import Alias, DeviceDescription, DeviceRef

#: (base, friendly name) -> the device and the alias to register, as for device messages.
DeviceResolver = Callable[[str, str], tuple[DeviceRef, tuple[Alias, ...]]]
#: How much of the model's own words is kept in the device's attrs.
_MAX_TEXT = 200


def decode_devices(
    base: str, text: str, context: DecodeContext, resolve: DeviceResolver
) -> DecodeResult:
    """Descriptions of every device `text` lists; entries without a friendly name are skipped."""
    data = validation.load_json(text, context.json_limits)
    if isinstance(data, Rejected):
        return data
    if not isinstance(data, list):
        return Rejected(
            f"{base}/bridge/devices must be a JSON array of devices, "
            f"got {validation.describe(data)}"
        )
    descriptions = tuple(d for entry in data if (d := _describe(base, entry, resolve)) is not None)
    if not descriptions:
        return Ignored(f"{base}/bridge/devices lists no device besides the coordinator")
    return Decoded(descriptions=descriptions)


def _describe(base: str, entry: object, resolve: DeviceResolver) -> DeviceDescription | None:
    if not isinstance(entry, dict):
        return None
    name = entry.get("friendly_name")
    if not isinstance(name, str) or not name or entry.get("type") == "Coordinator":
        return None
    definition = entry.get("definition")
    definition = definition if isinstance(definition, dict) else {}
    model, vendor, description = (
        _text(definition.get(key)) for key in ("model", "vendor", "description")
    )
    features, actions = _exposed(definition.get("exposes"))
    words = " ".join(w for w in (vendor, model, description) if w)
    kind = suggest_kind(Clues(features=features, actions=actions, description=words, name=name))
    role = suggest_role(kind, name, words)
    ref, aliases = resolve(base, name)
    attrs: dict[str, object] = {
        "zigbee2mqtt": {
            "friendly_name": name,
            "ieee_address": _text(entry.get("ieee_address")),
            "model": model,
            "vendor": vendor,
            "description": description,
            "power_source": _text(entry.get("power_source")),
            "exposes": sorted(features),
            "actions": sorted(actions),
        }
    }
    return DeviceDescription(
        site=ref.site,
        device=ref.device,
        attrs=attrs,
        name=name,
        kind=kind,
        role=None if role is None else role.role.value,
        role_room=None if role is None else role.room,
        alias=aliases[0] if aliases else None,
    )


def _text(value: object) -> str | None:
    return value[:_MAX_TEXT] if isinstance(value, str) and value else None


def _exposed(exposes: object) -> tuple[frozenset[str], frozenset[str]]:
    """The feature names an `exposes` list holds (composite features opened up), and the values
    of its `action` feature."""
    names: set[str] = set()
    actions: set[str] = set()
    for item in _items(exposes):
        name = item.get("property") or item.get("name")
        if isinstance(name, str) and name:
            names.add(name)
        values = item.get("values")
        if name == "action" and isinstance(values, list):
            actions.update(v.lower() for v in values if isinstance(v, str))
    return frozenset(names), frozenset(actions)


def _items(exposes: object) -> Iterator[dict[str, object]]:
    stack = [exposes]
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, dict):
            yield value
            stack.append(value.get("features"))
