"""Crash guard: what was in flight when the worker died is tried alone, and never a third time.

A message that kills the process (a crash in a C extension, memory exhausted, an OOM kill) gets
no exception handler's turn: the worker dies before it can reject it, the broker redelivers it
unacknowledged, and the restarted worker would die on it again, at every restart. So the batcher
commits the fingerprints of every batch before it tries to store it (store/readings/in_flight.py),
and a restart reads back what was in flight:

- a batch: each of its messages, when redelivered, is a *suspect*. It is stored on its own, the
  record naming it alone first; like any message stored alone, a failure makes it a reject.
- one message alone: the worker died on it a second time. It is *convicted*: stored as a reject
  without another try.

So one message stops the worker at most twice, and everything queued behind it flows again.
Each suspicion is used once: a later message with the same topic and payload is ordinary.
Under a shared subscription the broker may hand a dead worker's messages to another member,
which knows nothing of them: then each member stops at most twice on the message.
The price: a message that was in flight alone when the process was killed twice in a row for
another reason (an operator's kill -9, an OOM kill caused elsewhere) is rejected too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from ingest.inbound import Inbound
from store.readings.in_flight import FINGERPRINT_BYTES, InFlight

CONVICTED_REASON = (
    "ingest stopped twice while storing this message, the second time with this message alone "
    "(a crash or a kill); it is not tried a third time"
)


@dataclass(frozen=True, slots=True)
class Delivery:
    inbound: Inbound
    #: A 128-bit BLAKE2b digest of topic and payload: what the in-flight record names it by.
    fingerprint: bytes


def delivery(inbound: Inbound) -> Delivery:
    # 128 bits: a collision would only make a message suspect; BLAKE2b is the fastest hashlib has.
    digest = hashlib.blake2b(
        inbound.topic.encode("utf-8", "surrogatepass"), digest_size=FINGERPRINT_BYTES
    )
    digest.update(b"\0")
    digest.update(inbound.payload)
    return Delivery(inbound, digest.digest())


@dataclass(frozen=True, slots=True)
class Sorted:
    convicted: tuple[Delivery, ...]
    suspects: tuple[Delivery, ...]
    ordinary: tuple[Delivery, ...]


class CrashGuard:
    """The suspicions left by the worker's last stop. Used by the writer thread only."""

    def __init__(self, last: InFlight) -> None:
        self._convicted = set(last.fingerprints) if last.alone else set()
        self._suspects = set() if last.alone else set(last.fingerprints)

    @property
    def suspicious(self) -> int:
        """How many suspicions are still unused."""
        return len(self._convicted) + len(self._suspects)

    def sort(self, deliveries: Iterable[Delivery]) -> Sorted:
        """Sort a batch; each suspicion matched is used up."""
        batch = tuple(deliveries)
        if not (self._convicted or self._suspects):
            return Sorted((), (), batch)
        convicted: list[Delivery] = []
        suspects: list[Delivery] = []
        ordinary: list[Delivery] = []
        for d in batch:
            if d.fingerprint in self._convicted:
                self._convicted.discard(d.fingerprint)
                convicted.append(d)
            elif d.fingerprint in self._suspects:
                self._suspects.discard(d.fingerprint)
                suspects.append(d)
            else:
                ordinary.append(d)
        return Sorted(tuple(convicted), tuple(suspects), tuple(ordinary))
