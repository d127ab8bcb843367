"""decode(inbound, context): pick the dialect by topic and payload shape; never raises on input."""

from __future__ import annotations

from ingest import validation
from ingest.decoders import native, zigbee2mqtt
from ingest.decoders.result import DecodeContext, Decoded, DecodeResult, Ignored, Rejected
from ingest.inbound import Inbound
from ingest.wire import TOPIC_ROOT, Invalid, parse_topic

__all__ = ["DecodeContext", "DecodeResult", "Decoded", "Ignored", "Rejected", "decode"]


def decode(inbound: Inbound, context: DecodeContext) -> DecodeResult:
    """Decode one message into data, or say why not.

    `courtyard/v1/...` topics are native JSON (a SenML pack on telemetry is SenML); topics under
    a configured Zigbee2MQTT base are Zigbee2MQTT. Pure and thread-safe. Never raises on any
    topic or payload: bad input is a `Rejected`, valid traffic without data an `Ignored`.
    """
    topic = inbound.topic
    is_native = topic == TOPIC_ROOT or topic.startswith(TOPIC_ROOT + "/")
    base = None if is_native else zigbee2mqtt.match_base(topic, context.zigbee2mqtt_bases)
    if not is_native and base is None:
        configured = ", ".join(sorted(context.zigbee2mqtt_bases)) or "none configured"
        return Rejected(
            f"topic {topic!r} is neither {TOPIC_ROOT}/... nor under a configured "
            f"Zigbee2MQTT base ({configured})"
        )
    problem = validation.check_payload_size(inbound.payload, context.max_payload_bytes)
    if problem is not None:
        return problem
    text = validation.payload_text(inbound.payload)
    if isinstance(text, Rejected):
        return text
    now = context.now or inbound.received_at
    if base is not None:
        return zigbee2mqtt.decode(base, topic[len(base) + 1 :], text, now, context)
    parsed = parse_topic(topic)
    if isinstance(parsed, Invalid):
        return Rejected(parsed.reason)
    return native.decode(parsed, text, now, context)
