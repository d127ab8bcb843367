"""Zigbee2MQTT `bridge/devices` → descriptions with suggested kinds and roles; bad lists are
rejects, a list with only the coordinator is ignored."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from ingest.decoders import decode
from ingest.decoders.result import DecodeContext, Decoded, Ignored, Rejected
from ingest.decoders.zigbee2mqtt import derived_device_id
from ingest.inbound import Inbound
from store.records import Alias, DeviceRef

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
TOPIC = "zigbee2mqtt/bridge/devices"
CONTEXT = DecodeContext(zigbee2mqtt_bases={"zigbee2mqtt": "site-a"}, now=NOW)


def expose(name: str, **more: object) -> dict[str, object]:
    return {"type": "binary", "name": name, "property": name, "access": 1, **more}


def entry(name: str, description: str, *exposes: dict[str, object]) -> dict[str, object]:
    return {
        "ieee_address": "0x00158d0001a2b3c4",
        "type": "EndDevice",
        "friendly_name": name,
        "power_source": "Battery",
        "definition": {
            "model": "M1",
            "vendor": "Acme",
            "description": description,
            "exposes": [*exposes, {"type": "numeric", "name": "battery", "property": "battery"}],
        },
    }


COORDINATOR = {"ieee_address": "0x00", "type": "Coordinator", "friendly_name": "Coordinator",
               "definition": None}  # fmt: skip
PLUG = {
    "type": "switch",
    "features": [{"type": "binary", "name": "state", "property": "state", "access": 7}],
}


def run(payload: object, context: DecodeContext = CONTEXT) -> object:
    inbound = Inbound(topic=TOPIC, payload=orjson.dumps(payload), received_at=NOW)
    return decode(inbound, context)


@pytest.mark.parametrize(
    ("device", "kind", "role", "room"),
    [
        pytest.param(entry("Hall door", "Door and window sensor", expose("contact")),
                     "door_contact", "front_door", None, id="door"),
        pytest.param(entry("冰箱", "Door and window sensor", expose("contact")),
                     "door_contact", "other_door", "fridge", id="fridge-door"),
        pytest.param(entry("kitchen PIR", "Motion sensor", expose("occupancy")),
                     "motion_sensor", "motion", "kitchen", id="motion"),
        pytest.param(entry("mat 1", "Bed sensor", expose("occupancy")),
                     "bed_sensor", "bed", None, id="bed-mat"),
        pytest.param(entry("armchair", "Pressure mat", expose("presence")),
                     "seat_sensor", "seat", None, id="seat-mat"),
        pytest.param(entry("SOS", "Emergency button", {"type": "enum", "name": "action",
                                                       "property": "action", "values": ["sos"]}),
                     "sos_button", "sos", None, id="sos"),
        pytest.param(entry("kettle", "Smart plug", PLUG, {"type": "numeric", "name": "power"},
                           {"type": "numeric", "name": "energy"}),
                     "smart_plug", "appliance", None, id="plug"),
        pytest.param(entry("basement", "Water leak sensor", expose("water_leak")),
                     "leak_detector", None, None, id="leak"),
        pytest.param({"friendly_name": "unknown thing", "type": "EndDevice", "definition": None},
                     None, None, None, id="unsupported"),
    ],
)  # fmt: skip
def test_each_device_gets_its_suggestions(
    device: dict[str, object], kind: str | None, role: str | None, room: str | None
) -> None:
    result = run([COORDINATOR, device])
    assert isinstance(result, Decoded)
    (described,) = result.descriptions
    name = str(device["friendly_name"])
    assert (described.site, described.device) == ("site-a", derived_device_id(name))
    assert (described.kind, described.role, described.role_room) == (kind, role, room)
    assert described.name == name
    assert described.alias == Alias("zigbee2mqtt:zigbee2mqtt", name, "site-a", described.device)
    assert not result.readings and not result.events and not result.aliases


def test_the_summary_kept_in_attrs() -> None:
    result = run([entry("SOS", "Emergency button", {"type": "enum", "name": "action",
                                                    "values": ["SOS", "single"]})])  # fmt: skip
    assert isinstance(result, Decoded)
    assert result.descriptions[0].attrs == {
        "zigbee2mqtt": {
            "friendly_name": "SOS",
            "ieee_address": "0x00158d0001a2b3c4",
            "model": "M1",
            "vendor": "Acme",
            "description": "Emergency button",
            "power_source": "Battery",
            "exposes": ["action", "battery"],
            "actions": ["single", "sos"],
        }
    }


def test_a_registered_alias_names_the_device() -> None:
    context = DecodeContext(
        zigbee2mqtt_bases={"zigbee2mqtt": "site-a"},
        aliases={("zigbee2mqtt:zigbee2mqtt", "Hall door"): DeviceRef("site-b", "door-7")},
        now=NOW,
    )
    result = run([entry("Hall door", "Door sensor", expose("contact"))], context)
    assert isinstance(result, Decoded)
    (described,) = result.descriptions
    assert (described.site, described.device, described.alias) == ("site-b", "door-7", None)


@pytest.mark.parametrize(
    ("payload", "outcome"),
    [
        pytest.param({"devices": []}, Rejected, id="not-an-array"),
        pytest.param([], Ignored, id="empty"),
        pytest.param([COORDINATOR], Ignored, id="only-the-coordinator"),
        pytest.param([1, "x", {"type": "EndDevice"}], Ignored, id="entries-without-names"),
    ],
)
def test_lists_that_describe_nothing(payload: object, outcome: type) -> None:
    assert isinstance(run(payload), outcome)
