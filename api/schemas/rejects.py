"""Rejected messages: counts by reason and the messages themselves."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.schemas.common import Model


class ReasonCount(Model):
    reason: str
    count: int
    last_at: datetime


class RejectPublic(Model):
    id: int
    received_at: datetime
    topic: str
    site_id: str | None = Field(description="Told from the topic; null when it cannot be.")
    payload_preview: str = Field(description="The stored payload prefix, decoded leniently.")
    payload_base64: str = Field(description="The stored payload prefix, exactly.")
    payload_size: int
    reason: str


class RejectPage(Model):
    items: list[RejectPublic]
    next_cursor: str | None
