"""The in-flight record: which messages each ingest worker is storing, for after it dies mid-write.

`record` commits the fingerprints of a batch before the worker tries to store it, and is
overwritten by the next batch, so the row always names what was in flight last. It commits with
synchronous_commit off: the failure it guards against is the worker's process dying, which does
not lose a commit the server has acknowledged; the server crashing in the same instant at worst
costs a poison message one more try. Fingerprints are the caller's digests, FINGERPRINT_BYTES each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from psycopg.rows import TupleRow

FINGERPRINT_BYTES = 16

_RECORD = """
INSERT INTO ingest_in_flight (worker, alone, fingerprints, recorded_at)
VALUES (%(worker)s, %(alone)s, %(fingerprints)s, now())
ON CONFLICT (worker) DO UPDATE
SET alone = excluded.alone, fingerprints = excluded.fingerprints,
    recorded_at = excluded.recorded_at
"""


@dataclass(frozen=True, slots=True)
class InFlight:
    fingerprints: frozenset[bytes]
    #: The worker was storing one message on its own.
    alone: bool


def record(
    conn: psycopg.Connection[TupleRow], worker: str, fingerprints: Sequence[bytes], alone: bool
) -> None:
    """Commit what `worker` is about to store (replacing what it stored before)."""
    with conn.transaction():
        conn.execute("SET LOCAL synchronous_commit = off")
        conn.execute(
            _RECORD,
            {"worker": worker, "alone": alone, "fingerprints": b"".join(fingerprints)},
        )


def load(conn: psycopg.Connection[TupleRow], worker: str) -> InFlight:
    """What `worker` was storing when it last stopped (nothing after a clean stop)."""
    with conn.transaction():
        row = conn.execute(
            "SELECT alone, fingerprints FROM ingest_in_flight WHERE worker = %s", (worker,)
        ).fetchone()
    if row is None:
        return InFlight(frozenset(), alone=False)
    alone, packed = bool(row[0]), bytes(row[1])
    return InFlight(
        frozenset(
            packed[i : i + FINGERPRINT_BYTES] for i in range(0, len(packed), FINGERPRINT_BYTES)
        ),
        alone=alone,
    )


def clear(conn: psycopg.Connection[TupleRow], worker: str) -> None:
    """`worker` stopped cleanly: nothing of it is in flight."""
    with conn.transaction():
        conn.execute("DELETE FROM ingest_in_flight WHERE worker = %s", (worker,))
