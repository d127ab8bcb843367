"""Failed-login counts by key (an account or a client address), the rows behind
api.auth.login_throttle.

The API decides what a count means (after how many failures a lockout starts, and how long it
lasts); this module locks, reads and writes the rows. `lock` must run inside a transaction: it
holds the rows until the transaction ends, so that attempts on one key are counted in turn.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import TupleRow


@dataclass(frozen=True, slots=True)
class Counter:
    key: str
    failures: int
    last_at: datetime
    locked_until: datetime | None


async def lock(
    conn: psycopg.AsyncConnection[TupleRow], keys: Iterable[str], now: datetime
) -> dict[str, Counter]:
    """The counters of `keys` (created at zero where missing), locked until the transaction ends."""
    ordered = sorted(set(keys))  # one order for every caller: no deadlock between two attempts
    await conn.execute(
        "INSERT INTO login_throttle (key, last_at) SELECT k, %s FROM unnest(%s::text[]) AS k"
        " ORDER BY k ON CONFLICT (key) DO NOTHING",
        (now, ordered),
    )
    cur = await conn.execute(
        "SELECT key, failures, last_at, locked_until FROM login_throttle"
        " WHERE key = ANY(%s) ORDER BY key FOR UPDATE",
        (ordered,),
    )
    return {row[0]: Counter(*row) for row in await cur.fetchall()}


async def save(conn: psycopg.AsyncConnection[TupleRow], counter: Counter) -> None:
    await conn.execute(
        "UPDATE login_throttle SET failures = %s, last_at = %s, locked_until = %s WHERE key = %s",
        (counter.failures, counter.last_at, counter.locked_until, counter.key),
    )


async def give_back(
    conn: psycopg.AsyncConnection[TupleRow], key: str, locked_until: datetime | None
) -> None:
    """Uncount one attempt of `key`; lift the lockout it set, if it set one (`locked_until`)
    and no later attempt has replaced it."""
    await conn.execute(
        "UPDATE login_throttle SET failures = greatest(failures - 1, 0),"
        " locked_until = CASE WHEN locked_until = %s THEN NULL ELSE locked_until END"
        " WHERE key = %s",
        (locked_until, key),
    )


async def clear(conn: psycopg.AsyncConnection[TupleRow], key: str) -> None:
    await conn.execute("DELETE FROM login_throttle WHERE key = %s", (key,))


async def forget(conn: psycopg.AsyncConnection[TupleRow], before: datetime) -> None:
    """Drop the keys quiet since before `before` and not locked past it (keeps the table small
    when many addresses or names are tried once)."""
    await conn.execute(
        "DELETE FROM login_throttle WHERE last_at < %s"
        " AND (locked_until IS NULL OR locked_until < %s)",
        (before, before),
    )
