"""Courtyard's own JSON on courtyard/v1 topics: telemetry (object or array), event, status."""

from __future__ import annotations

from datetime import datetime

from ingest import kinds, validation
from ingest.decoders import senml
from ingest.decoders.result import DecodeContext, Decoded, DecodeResult, Ignored, Rejected
from ingest.decoders.senml import SeriesValues
from ingest.wire import Channel, Status, Topic
from store.records import DeviceRef, Event, Reading, StatusChange

#: Event subjects are free text ("card:8f3a"); the cap keeps a broken device from storing essays.
MAX_SUBJECT_CHARS = 256


def decode(topic: Topic, text: str, now: datetime, context: DecodeContext) -> DecodeResult:
    """Decode one message; `now` is the receive time, used where the message gives no time."""
    device = DeviceRef(topic.site, topic.device)
    if topic.channel is Channel.STATUS:
        return _status(text, device, now, context)
    data = validation.load_json(text, context.json_limits)
    if isinstance(data, Rejected):
        return data
    if topic.channel is Channel.EVENT:
        return _event(data, device, now, context)
    if senml.is_pack(data):
        return _senml(data, device, now, context)
    return _telemetry(data, device, now, context)


def _senml(data: object, device: DeviceRef, now: datetime, context: DecodeContext) -> DecodeResult:
    values = senml.read_pack(data, now, context)
    if isinstance(values, Rejected):
        return values
    if not values:
        return Ignored("SenML pack holds only string or data values (vs, vd), which are not stored")
    return _decoded(device, values)


def _status(text: str, device: DeviceRef, now: datetime, context: DecodeContext) -> DecodeResult:
    value: object = text.strip()
    if isinstance(value, str) and value.startswith("{"):
        data = validation.load_json(value, context.json_limits)
        if isinstance(data, Rejected):
            return data
        value = data.get("status") if isinstance(data, dict) else None
    if value in (Status.ONLINE, Status.OFFLINE):
        online = value == Status.ONLINE
        return Decoded(statuses=(StatusChange(device.site, device.device, now, online),))
    return Rejected(
        'status payload must be "online" or "offline" (or {"status": "online"}), '
        f"got {validation.describe(value)}"
    )


def _event(data: object, device: DeviceRef, now: datetime, context: DecodeContext) -> DecodeResult:
    if not isinstance(data, dict):
        return Rejected(f"event payload must be a JSON object, got {validation.describe(data)}")
    type_ = data.get("type")
    problem = validation.check_event_type(type_)
    if problem is not None:
        return problem
    subject = data.get("subject")
    if subject is not None and not (isinstance(subject, str) and len(subject) <= MAX_SUBJECT_CHARS):
        return Rejected(
            f"event subject must be a string of at most {MAX_SUBJECT_CHARS} characters, "
            f"got {validation.describe(subject)}"
        )
    attrs = data.get("attrs", {})
    if not isinstance(attrs, dict):
        return Rejected(f"event attrs must be a JSON object, got {validation.describe(attrs)}")
    ts = validation.message_time(data.get("ts"), "ts", now, context)
    if isinstance(ts, Rejected):
        return ts
    event = Event(device.site, device.device, ts, str(type_), subject, attrs)
    kind = kinds.EVENT_KINDS.get(event.type)
    return Decoded(events=(event,), kinds=((device, kind),) if kind else ())


def _telemetry(
    data: object, device: DeviceRef, now: datetime, context: DecodeContext
) -> DecodeResult:
    if isinstance(data, dict):
        items: list[object] = [data]
    elif isinstance(data, list):
        if not data:
            return Rejected("telemetry array is empty")
        items = data
    else:
        got = validation.describe(data)
        return Rejected(f"telemetry must be a JSON object or an array of objects, got {got}")
    latest: SeriesValues = {}
    for index, item in enumerate(items):
        readings = _telemetry_item(item, now, context)
        if isinstance(readings, Rejected):
            if isinstance(data, list):
                return Rejected(f"item {index + 1} of {len(items)} of the array: {readings.reason}")
            return readings
        # The same metric twice at the same time in one message: the later one wins.
        latest.update(readings)
    return _decoded(device, latest)


def _telemetry_item(item: object, now: datetime, context: DecodeContext) -> SeriesValues | Rejected:
    if not isinstance(item, dict):
        return Rejected(f"expected a telemetry object, got {validation.describe(item)}")
    ts = validation.message_time(item.get("ts"), "ts", now, context)
    if isinstance(ts, Rejected):
        return ts
    raw = item.get("readings")
    if raw is None:
        return Rejected('"readings" is missing')
    if not isinstance(raw, dict) or not raw:
        return Rejected(
            "readings must be a non-empty object of metric names to numbers, "
            f"got {validation.describe(raw)}"
        )
    readings: SeriesValues = {}
    for metric, value in raw.items():
        problem = validation.check_metric_name(metric, "readings key")
        if problem is not None:
            return problem
        number = validation.numeric_value(value, f'readings["{metric}"]')
        if isinstance(number, Rejected):
            return number
        readings[(metric, ts)] = number
    return readings


def _decoded(device: DeviceRef, values: SeriesValues) -> Decoded:
    readings = tuple(
        Reading(device.site, device.device, metric, ts, value)
        for (metric, ts), value in values.items()
    )
    kind = kinds.infer_kind({metric for metric, _ in values}, kinds.NATIVE_RULES)
    return Decoded(readings=readings, kinds=((device, kind),) if kind else ())
