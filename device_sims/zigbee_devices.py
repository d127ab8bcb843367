"""The Zigbee2MQTT bridge's list of its devices (`<base>/bridge/devices`, retained), as the real
bridge publishes it on start: what a home kit's sensors are, by model and exposed features."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import orjson

from device_sims.seeding import stable_seed

_BATTERY = [
    {"type": "numeric", "name": "battery", "property": "battery", "access": 5, "unit": "%"},
    {"type": "numeric", "name": "voltage", "property": "voltage", "access": 5, "unit": "mV"},
]
_LINK = {"type": "numeric", "name": "linkquality", "property": "linkquality", "access": 1}


def _binary(name: str) -> dict[str, object]:
    return {"type": "binary", "name": name, "property": name, "access": 1,
            "value_on": True, "value_off": False}  # fmt: skip


def _numeric(name: str, unit: str) -> dict[str, object]:
    return {"type": "numeric", "name": name, "property": name, "access": 1, "unit": unit}


#: Device class (encode.Endpoint.z2m_class, by the sensor's role) → (model, vendor,
#: description, exposes, power source). Models are the simulator's own, not real products.
_DEFINITIONS: Mapping[str, tuple[str, str, str, list[object], str]] = {
    "motion": ("SIM-PIR1", "Courtyard Sim", "Motion sensor",
               [_binary("occupancy"), _numeric("illuminance_lux", "lx"), *_BATTERY, _LINK],
               "Battery"),
    "contact": ("SIM-DW1", "Courtyard Sim", "Door and window sensor",
                [_binary("contact"), *_BATTERY, _LINK], "Battery"),
    "bed": ("SIM-MAT1", "Courtyard Sim", "Bed occupancy sensor (pressure mat)",
            [_binary("occupancy"), *_BATTERY, _LINK], "Battery"),
    "occupancy": ("SIM-MAT2", "Courtyard Sim", "Occupancy pressure mat",
                  [_binary("occupancy"), *_BATTERY, _LINK], "Battery"),
    "flow": ("SIM-FLOW1", "Courtyard Sim", "Water flow sensor",
             [_numeric("flow", "L/min"), *_BATTERY, _LINK], "Battery"),
    "plug": ("SIM-PLUG1", "Courtyard Sim", "Smart plug with power monitoring",
             [{"type": "switch", "features": [
                 {"type": "binary", "name": "state", "property": "state", "access": 7,
                  "value_on": "ON", "value_off": "OFF"}]},
              _numeric("power", "W"), _numeric("energy", "kWh"), _numeric("current", "A"),
              _numeric("voltage", "V"), _LINK], "Mains (single phase)"),
    "sos": ("SIM-SOS1", "Courtyard Sim", "Emergency (SOS) button",
            [{"type": "enum", "name": "action", "property": "action", "access": 1,
              "values": ["emergency"]}, *_BATTERY, _LINK], "Battery"),
}  # fmt: skip


def device_list(devices: Iterable[tuple[str, str, str]], seed: int) -> bytes:
    """The payload of `<base>/bridge/devices` for (device id, friendly name, device class):
    the coordinator first, then each device, as Zigbee2MQTT lists them."""
    entries: list[dict[str, object]] = [
        {"ieee_address": _ieee(seed, "coordinator"), "type": "Coordinator",
         "network_address": 0, "friendly_name": "Coordinator", "definition": None,
         "supported": True, "interview_completed": True}
    ]  # fmt: skip
    for device, name, device_class in devices:
        model, vendor, description, exposes, power = _DEFINITIONS[device_class]
        entries.append(
            {
                "ieee_address": _ieee(seed, device),
                "type": "Router" if power.startswith("Mains") else "EndDevice",
                "network_address": stable_seed(seed, device) % 65_000 + 1,
                "friendly_name": name,
                "power_source": power,
                "supported": True,
                "interview_completed": True,
                "definition": {
                    "model": model,
                    "vendor": vendor,
                    "description": description,
                    "exposes": exposes,
                },
            }
        )
    return orjson.dumps(entries)


def _ieee(seed: int, device: str) -> str:
    return f"0x{stable_seed(seed, device):016x}"
