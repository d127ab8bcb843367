"""Inbound: one MQTT message as received, with what it takes to acknowledge it later."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Inbound:
    topic: str
    payload: bytes
    received_at: datetime
    mid: int = 0
    qos: int = 0
    #: True when the broker marks this as a redelivery of a message it sent before.
    dup: bool = False
    #: Which MQTT connection delivered it. A message id is only meaningful on the connection that
    #: delivered it, so acks for an older generation are dropped (the broker redelivers).
    generation: int = 0


def topic_text(raw: bytes) -> str:
    """A topic as text; brokers should refuse invalid UTF-8, and it is kept readable if not."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace")
