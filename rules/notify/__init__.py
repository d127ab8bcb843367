"""Notifications: fan-out to the outbox, escalation, and the senders that deliver it.

The contract every channel's sender meets. `send` delivers one outbox row to one target (what
the receiver's `people.channels` holds for that channel, read when the row is sent) and
classifies the outcome instead of raising, as Alertmanager's notifiers do:

    SendResult.sent()              delivered; the row is marked sent
    SendResult.retry(error)        may succeed later (timeout, 5xx, refused): backoff and retry
    SendResult.permanent(error)    cannot succeed as addressed (4xx, bad URL): failed at once

A sender that raises anyway is treated as `retry` by the dispatcher. Senders are called from the
dispatcher's worker threads, several at once, and must be thread-safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from store.alerts.outbox import Notification


@dataclass(frozen=True, slots=True)
class SendResult:
    ok: bool
    #: For a failure: whether a later attempt may succeed.
    recoverable: bool = False
    error: str | None = None

    @classmethod
    def sent(cls) -> SendResult:
        return cls(ok=True)

    @classmethod
    def retry(cls, error: str) -> SendResult:
        return cls(ok=False, recoverable=True, error=error)

    @classmethod
    def permanent(cls, error: str) -> SendResult:
        return cls(ok=False, recoverable=False, error=error)


class Sender(Protocol):
    def send(self, notification: Notification, target: object) -> SendResult: ...

    def close(self) -> None: ...
