"""Notification outbox rows: enqueue, claim due (FOR UPDATE SKIP LOCKED), mark sent or failed.

A notification is enqueued in the transaction that records its alert change, so a change never
commits without its notifications. Senders claim due rows with a lease: a claimed row is
`sending` and becomes claimable again when its lease runs out, so a sender killed mid-send
delays a notification but never loses it. Delivery is therefore at least once, and each row
carries an idempotency key for the far end to drop a repeat.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import StrEnum

import psycopg
from psycopg.rows import TupleRow, class_row
from psycopg.types.json import Jsonb

# Retry policy. Doubling from 10 s and capped at 15 min, 10 attempts span about 50 minutes:
# long enough to ride out a chat service's outage or a webhook receiver's restart, short enough
# that a care notification that cannot be delivered is reported failed while it still matters.
MAX_ATTEMPTS = 10
BASE_DELAY_S = 10.0
MAX_DELAY_S = 900.0
#: How much of a channel's error text is kept (an HTML error page can be large).
_ERROR_MAX_CHARS = 1000


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Notification:
    id: int
    alert_change_id: int
    alert_id: int
    receiver: str
    channel: str
    idempotency_key: str
    payload: dict[str, object]
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


_COLUMNS = ", ".join(f.name for f in fields(Notification))

# Rows are locked in claim order and skipped when another sender holds them, so concurrent
# senders get disjoint rows. A lease that ran out after the last allowed attempt ends the row
# as failed instead of handing it out again: a notification that kills its sender every time
# must not take the sender down forever.
_CLAIM = f"""
WITH due AS (
    SELECT id, status, attempts FROM notifications
    WHERE status IN ('pending', 'sending') AND next_attempt_at <= %(now)s
      AND (%(channels)s::text[] IS NULL OR channel = ANY(%(channels)s::text[]))
    ORDER BY next_attempt_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), given_up AS (
    UPDATE notifications n
    SET status = 'failed',
        last_error = 'lease expired after ' || n.attempts || ' attempts; last error: '
                     || coalesce(n.last_error, 'none')
    FROM due
    WHERE n.id = due.id AND due.status = 'sending' AND due.attempts >= %(max_attempts)s
    RETURNING n.id
)
UPDATE notifications n
SET status = 'sending', attempts = n.attempts + 1, next_attempt_at = %(lease_until)s
FROM due
WHERE n.id = due.id AND NOT (due.status = 'sending' AND due.attempts >= %(max_attempts)s)
RETURNING {", ".join("n." + f.name for f in fields(Notification))}
"""


def idempotency_key(alert_change_id: int, receiver: str, channel: str) -> str:
    return f"{alert_change_id}:{receiver}:{channel}"


def enqueue(
    conn: psycopg.Connection[TupleRow],
    *,
    alert_change_id: int,
    alert_id: int,
    receiver: str,
    channel: str,
    payload: Mapping[str, object],
    due_at: datetime | None = None,
) -> bool:
    """Queue one notification; False when this (change, receiver, channel) is queued already.

    `due_at` defers delivery (quiet hours); None means at once (the transaction's time).
    """
    cur = conn.execute(
        """
        INSERT INTO notifications
            (alert_change_id, alert_id, receiver, channel, idempotency_key, payload,
             next_attempt_at)
        VALUES (%s, %s, %s, %s, %s, %s, coalesce(%s, now()))
        ON CONFLICT (idempotency_key) DO NOTHING
        """,
        (
            alert_change_id,
            alert_id,
            receiver,
            channel,
            idempotency_key(alert_change_id, receiver, channel),
            Jsonb(dict(payload)),
            due_at,
        ),
    )
    return cur.rowcount == 1


def claim_due(
    conn: psycopg.Connection[TupleRow],
    now: datetime,
    limit: int,
    lease_s: float,
    *,
    max_attempts: int = MAX_ATTEMPTS,
    channels: Collection[str] | None = None,
) -> list[Notification]:
    """Claim up to `limit` due notifications for `lease_s` seconds, oldest due first.

    Each claim counts as an attempt. Commit right after claiming: the claim is the row's
    `sending` status and lease, not a lock held while sending. `channels` limits the claim to
    those channels (a sender claims only what it has room for on each of its channels).
    """
    if lease_s <= 0:
        raise ValueError(f"lease_s must be positive, not {lease_s}")
    with conn.cursor(row_factory=class_row(Notification)) as cur:
        claimed = cur.execute(
            _CLAIM,
            {
                "now": now,
                "limit": limit,
                "lease_until": now + timedelta(seconds=lease_s),
                "max_attempts": max_attempts,
                "channels": None if channels is None else list(channels),
            },
        ).fetchall()
    return sorted(claimed, key=lambda n: n.id)


def mark_sent(conn: psycopg.Connection[TupleRow], notification_id: int, now: datetime) -> bool:
    """Record a delivery; False when recorded already (a resend after a lease ran out)."""
    cur = conn.execute(
        "UPDATE notifications SET status = 'sent', sent_at = %s WHERE id = %s AND status <> 'sent'",
        (now, notification_id),
    )
    return cur.rowcount == 1


def mark_failed(
    conn: psycopg.Connection[TupleRow],
    notification_id: int,
    *,
    error: str,
    recoverable: bool,
    now: datetime,
    max_attempts: int = MAX_ATTEMPTS,
    base_delay_s: float = BASE_DELAY_S,
    max_delay_s: float = MAX_DELAY_S,
) -> NotificationStatus | None:
    """Record a failed attempt: retry later (`pending`) or give up (`failed`).

    A recoverable error is retried after `backoff_s(attempts)`, until `max_attempts`; a
    permanent one fails at once. Returns the new status, or None when the row is no longer
    being sent (its lease ran out and another sender finished it).
    """
    row = conn.execute(
        "SELECT attempts FROM notifications WHERE id = %s AND status = 'sending' FOR UPDATE",
        (notification_id,),
    ).fetchone()
    if row is None:
        return None
    attempts = int(row[0])
    error = error[:_ERROR_MAX_CHARS]
    if recoverable and attempts < max_attempts:
        retry_at = now + timedelta(seconds=backoff_s(attempts, base_delay_s, max_delay_s))
        conn.execute(
            "UPDATE notifications SET status = 'pending', next_attempt_at = %s, last_error = %s"
            " WHERE id = %s",
            (retry_at, error, notification_id),
        )
        return NotificationStatus.PENDING
    conn.execute(
        "UPDATE notifications SET status = 'failed', last_error = %s WHERE id = %s",
        (error, notification_id),
    )
    return NotificationStatus.FAILED


def backoff_s(
    attempts: int, base_delay_s: float = BASE_DELAY_S, max_delay_s: float = MAX_DELAY_S
) -> float:
    """Delay before the next attempt after `attempts` (>= 1) failed ones: doubling, capped."""
    # min() on the exponent first keeps 2 ** n small for rows with many attempts.
    return float(min(base_delay_s * 2 ** min(max(attempts - 1, 0), 62), max_delay_s))


def backlog(conn: psycopg.Connection[TupleRow]) -> int:
    """Notifications not yet delivered nor given up (pending or being sent)."""
    row = conn.execute(
        "SELECT count(*) FROM notifications WHERE status IN ('pending', 'sending')"
    ).fetchone()
    return int(row[0]) if row else 0


def next_due(
    conn: psycopg.Connection[TupleRow], *, channels: Collection[str] | None = None
) -> datetime | None:
    """When the next pending or leased notification (of `channels`) becomes claimable."""
    row = conn.execute(
        """
        SELECT min(next_attempt_at) FROM notifications
        WHERE status IN ('pending', 'sending')
          AND (%(channels)s::text[] IS NULL OR channel = ANY(%(channels)s::text[]))
        """,
        {"channels": None if channels is None else list(channels)},
    ).fetchone()
    return row[0] if row else None


def get(conn: psycopg.Connection[TupleRow], notification_id: int) -> Notification | None:
    with conn.cursor(row_factory=class_row(Notification)) as cur:
        return cur.execute(
            f"SELECT {_COLUMNS} FROM notifications WHERE id = %s", (notification_id,)
        ).fetchone()
