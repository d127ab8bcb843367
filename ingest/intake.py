"""to_message: decode one Inbound into the store's Message, bad input becoming a stored Reject."""

from __future__ import annotations

import logging

from ingest import metrics
from ingest.decoders import decode
from ingest.decoders.result import DecodeContext, Decoded, Ignored, Rejected
from ingest.inbound import Inbound
from store.records import Message, Origin

logger = logging.getLogger(__name__)

#: How much of a bad payload is kept with its reject: enough to recognise it, not a copy of it.
PAYLOAD_PREFIX_BYTES = 200


def to_message(inbound: Inbound, context: DecodeContext) -> Message:
    result = decode(inbound, context)
    if isinstance(result, Decoded):
        return Message(
            received_at=inbound.received_at,
            readings=result.readings,
            events=result.events,
            statuses=result.statuses,
            aliases=result.aliases,
            kinds=result.kinds,
            descriptions=result.descriptions,
            origin=origin(inbound) if result.readings else None,
        )
    if isinstance(result, Ignored):
        metrics.IGNORED.inc()
        logger.debug("ignored %s: %s", inbound.topic, result.reason)
        return Message(received_at=inbound.received_at)
    return rejected(inbound, result)


def origin(inbound: Inbound) -> Origin:
    """What the writer records about a message whose readings it refuses in part."""
    return Origin(
        topic=inbound.topic,
        payload_prefix=inbound.payload[:PAYLOAD_PREFIX_BYTES],
        payload_size=len(inbound.payload),
        redelivered=inbound.dup,
    )


def rejected(inbound: Inbound, result: Rejected) -> Message:
    metrics.REJECTED.inc()
    prefix = inbound.payload[:PAYLOAD_PREFIX_BYTES]
    logger.warning("rejected %s: %s; payload starts %r", inbound.topic, result.reason, prefix)
    reject = origin(inbound).reject(result.reason, inbound.received_at)
    return Message(received_at=inbound.received_at, rejects=(reject,))
