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
