"""Simulator output to MQTT messages: native JSON, SenML packs or Zigbee2MQTT device states."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

import orjson

from device_sims.emissions import (
    Emission,
    Event,
    Outgoing,
    Published,
    Raw,
    StatusChange,
    Telemetry,
)
from device_sims.seeding import stable_seed
from ingest.wire import Channel, Status, encode_event, encode_status, encode_telemetry, topic


class OutputFormat(StrEnum):
    NATIVE = "native"
    SENML = "senml"
    ZIGBEE2MQTT = "zigbee2mqtt"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """How one device publishes: its format and, for Zigbee2MQTT, its name and device class."""

    device: str
    format: OutputFormat
    friendly_name: str = ""
    z2m_class: str = ""  # motion | contact | occupancy | flow | plug | sos


# SenML units (RFC 8428 registry and RFC 8798 secondary units) by metric-name suffix. The metric
# name carries the unit already, so `u` is informative; suffixes without a registered unit
# (bar, lpm, g) go without one rather than with an invented symbol.
_SENML_UNITS: Mapping[str, str] = {
    "pct": "%", "c": "Cel", "w": "W", "a": "A", "kwh": "kWh", "m3": "m3", "s": "s",
}  # fmt: skip


def senml_unit(metric: str) -> str | None:
    if metric.startswith("humidity") and metric.endswith("_pct"):
        return "%RH"
    suffix = metric.rsplit("_", 1)[-1] if "_" in metric else ""
    return _SENML_UNITS.get(suffix)


def senml_pack(device: str, ts: float, readings: Mapping[str, float | bool]) -> bytes:
    records: list[dict[str, object]] = []
    for name, value in readings.items():
        record: dict[str, object] = {}
        if not records:
            record["bn"] = f"{device}:"
            record["bt"] = ts
        record["n"] = name
        unit = senml_unit(name)
        if unit is not None:
            record["u"] = unit
        record["vb" if isinstance(value, bool) else "v"] = value
        records.append(record)
    return orjson.dumps(records)


def value_fields(body: Mapping[str, object]) -> set[str]:
    """Fields of a Zigbee2MQTT state that are readings: numeric and boolean fields and ON/OFF
    switch states, except `occupancy: false`, which the bridge synthesises after its timeout.
    """
    return {
        k
        for k, v in body.items()
        if (isinstance(v, int | float) or v in ("ON", "OFF"))
        and not (k == "occupancy" and v is False)
    }


def count_values(body: Mapping[str, object]) -> int:
    """Readings a Zigbee2MQTT state carries (see value_fields)."""
    return len(value_fields(body))


def count_events(body: Mapping[str, object]) -> int:
    """Events a Zigbee2MQTT state carries: `occupancy: true` is a motion, an action a press."""
    return int(body.get("occupancy") is True) + int(bool(body.get("action")))


class Encoder:
    """Turns emissions into messages. Stateful for Zigbee2MQTT, which republishes the device's
    whole cached state (battery, linkquality, ...) with every change, as the real bridge does."""

    def __init__(
        self,
        site: str,
        tz: ZoneInfo,
        endpoints: Mapping[str, Endpoint],
        default: OutputFormat = OutputFormat.NATIVE,
        z2m_base: str = "zigbee2mqtt",
        qos: int = 1,
        seed: int = 0,
    ) -> None:
        self.site = site
        self.tz = tz
        self.endpoints = endpoints
        self.default = default
        self.base = z2m_base
        self.qos = qos
        self.seed = seed
        self._topics: dict[tuple[str, Channel], str] = {}
        self._z2m_state: dict[str, dict[str, object]] = {}
        self._z2m_count: dict[str, int] = {}
        # Per device: the last `last_seen` published and the fields already counted for it. A
        # republish within the same second (an action's reset, a report beside a motion) repeats
        # those observations, and the store keeps one reading per series and timestamp.
        self._z2m_counted: dict[str, tuple[str, set[str]]] = {}

    def encode(self, em: Emission) -> list[Outgoing]:
        if isinstance(em, Published):
            return [Outgoing(em.ts, em.topic, em.payload, 1, True, em.channel)]
        endpoint = self.endpoints.get(em.device)
        fmt = endpoint.format if endpoint is not None else self.default
        if fmt is OutputFormat.ZIGBEE2MQTT and endpoint is not None:
            return self._z2m(endpoint, em)
        if isinstance(em, StatusChange):
            body = encode_status(em.status)
            return [self._out(em, Channel.STATUS, body, "status", retain=True)]
        if isinstance(em, Raw):
            return [self._out(em, Channel.TELEMETRY, em.payload, "malformed")]
        when = datetime.fromtimestamp(em.ts, UTC)
        if isinstance(em, Event):
            body = encode_event(when, em.type, em.subject, em.attrs)
            return [self._out(em, Channel.EVENT, body, "event", events=1)]
        if fmt is OutputFormat.SENML:
            body = senml_pack(em.device, em.ts, em.readings)
        else:
            body = encode_telemetry(when, em.readings)
        return [self._out(em, Channel.TELEMETRY, body, "telemetry", readings=len(em.readings))]

    def _topic(self, device: str, channel: Channel) -> str:
        key = (device, channel)
        name = self._topics.get(key)
        if name is None:
            name = self._topics[key] = topic(self.site, device, channel)
        return name

    def _out(self, em: Emission, channel: Channel, body: bytes, bucket: str, retain: bool = False,
             readings: int = 0, events: int = 0) -> Outgoing:  # fmt: skip
        qos = 1 if retain else self.qos
        return Outgoing(em.ts, self._topic(em.device, channel), body, qos, retain, bucket,
                        readings, events)  # fmt: skip

    def _z2m(self, ep: Endpoint, em: Emission) -> list[Outgoing]:
        name = f"{self.base}/{ep.friendly_name}"
        if isinstance(em, StatusChange):
            availability = "online" if em.status is Status.ONLINE else "offline"
            payload = orjson.dumps({"state": availability})
            return [Outgoing(em.ts, f"{name}/availability", payload, 1, True,
                             "zigbee2mqtt_availability")]  # fmt: skip
        if isinstance(em, Raw):
            return [Outgoing(em.ts, name, em.payload, self.qos, False, "malformed")]
        assert not isinstance(em, Published)  # sent as it is by encode()
        state = self._z2m_state.setdefault(ep.device, {})
        update = _z2m_update(ep.z2m_class, em)
        state.update({k: v for k, v in update.items() if k != "action"})
        state["linkquality"] = self._linkquality(ep.device)
        state["last_seen"] = datetime.fromtimestamp(em.ts, self.tz).isoformat(timespec="seconds")
        if "action" not in update:
            out = Outgoing(em.ts, name, orjson.dumps(state), self.qos, False, "zigbee2mqtt",
                           self._new_readings(ep.device, state), count_events(state))  # fmt: skip
            if state.get("occupancy") is True and ep.z2m_class == "motion":
                # The bridge clears PIR occupancy after occupancy_timeout (90 s by default);
                # later state messages of this sensor carry false until the next motion.
                state["occupancy"] = False
            return [out]
        # A transient action: the bridge publishes it, then immediately an empty reset that
        # must not count as a second press.
        pressed = {"action": update["action"], **state}
        reset = {"action": "", **state}
        return [
            Outgoing(em.ts, name, orjson.dumps(pressed), self.qos, False, "zigbee2mqtt",
                     self._new_readings(ep.device, pressed), count_events(pressed)),
            Outgoing(em.ts, name, orjson.dumps(reset), self.qos, False, "zigbee2mqtt",
                     self._new_readings(ep.device, reset), count_events(reset)),
        ]  # fmt: skip

    def _new_readings(self, device: str, body: Mapping[str, object]) -> int:
        stamp = str(body.get("last_seen"))
        fields = value_fields(body)
        counted_stamp, counted = self._z2m_counted.get(device, ("", set()))
        if counted_stamp != stamp:
            counted = set()
        new = fields - counted
        self._z2m_counted[device] = (stamp, counted | fields)
        return len(new)

    def _linkquality(self, device: str) -> int:
        n = self._z2m_count.get(device, 0) + 1
        self._z2m_count[device] = n
        return 40 + stable_seed(self.seed + n, device) % 120


def _z2m_update(cls: str, em: Telemetry | Event) -> dict[str, object]:
    if isinstance(em, Event):
        if em.type == "motion":
            return {"occupancy": True}
        if em.type in ("door_open", "door_closed"):
            return {"contact": em.type == "door_closed"}  # Z2M: true means CLOSED
        if em.type == "sos":
            return {"action": "emergency"}
        return {"action": em.type}
    update: dict[str, object] = {}
    for metric, value in em.readings.items():
        if metric == "battery_pct":
            update["battery"] = int(value)
            update["voltage"] = int(2700 + 5 * float(value))  # CR2032: ~3.2 V full, ~2.7 V empty
        elif metric == "occupancy":
            update["occupancy"] = value
        elif metric == "flow_lpm":
            update["flow"] = value
        elif metric == "power_w":
            update["power"] = value
            update["state"] = "ON" if value else "OFF"
            update["current"] = round(float(value) / 230.0, 2)
            update["voltage"] = 230
        elif metric == "energy_kwh":
            update["energy"] = value
        else:
            update[metric] = value
    return update
