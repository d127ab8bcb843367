"""Login throttling: growing lockouts by account and by client address, counted in the store.

Every password attempt (the dashboard's form and `POST /api/v1/session` alike) is first
*claimed*: in one transaction the account's and the client's counters are locked, refused if
either is locked out, and otherwise counted as a failure before the password is checked, so that
attempts sent at once cannot all slip in under the limit. A right password gives its count back
(and clears the account's); a wrong one keeps it. Counts and lockouts:

    failures in a row (this one included)   1 .. after-1   after       after+1   ...
    lockout that this failure starts        none           lockout_s   2x        ... up to max

A lockout refuses every attempt of that account or address, the right password included, with
429 and Retry-After; a refused attempt is not counted and costs no password hash. A key quiet for
`login_forget_s` starts again from zero. The counters live in the database: every API worker
shares them and a restart keeps them.

The price is that anyone can lock an account for a while by failing on purpose; the cap on the
lockout (15 minutes by default) bounds that, as it bounds a guesser to a few tries per quarter
hour. The client address is the connection's peer as uvicorn reports it (behind a proxy, the one
uvicorn trusts for X-Forwarded-For).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import psycopg
from psycopg.rows import TupleRow

from api.settings import ApiSettings
from store.access import login_throttle


@dataclass(frozen=True, slots=True)
class Claim:
    """An attempt that was let through: the keys it counted, and the lockout each got from it."""

    account_key: str
    locked_by_this: tuple[tuple[str, datetime | None], ...]


@dataclass(frozen=True, slots=True)
class Throttled:
    retry_after_s: int


def account_key(user_id: str) -> str:
    return f"account:{user_id}"


def client_key(address: str) -> str:
    return f"client:{address}"


def lockout_s(failures: int, after: int, settings: ApiSettings) -> float:
    """The lockout that the `failures`-th failure in a row starts (0: none yet), when lockouts
    start after `after` failures."""
    beyond = failures - after
    if beyond < 0:
        return 0.0
    # The exponent is capped: 2 ** a large count would overflow a float.
    doubled: float = settings.login_lockout_s * 2.0 ** min(beyond, 64)
    return min(doubled, settings.login_lockout_max_s)


async def claim(
    conn: psycopg.AsyncConnection[TupleRow],
    settings: ApiSettings,
    user_id: str,
    client_address: str,
    now: datetime,
) -> Claim | Throttled:
    """Count an attempt before its password is checked, or refuse it while a lockout runs."""
    keys = {
        account_key(user_id): settings.login_account_lockout_after,
        client_key(client_address): settings.login_client_lockout_after,
    }
    forget_before = now - timedelta(seconds=settings.login_forget_s)
    async with conn.transaction():
        counters = await login_throttle.lock(conn, keys, now)
        until = max((c.locked_until for c in counters.values() if c.locked_until), default=None)
        if until is not None and until > now:
            return Throttled(retry_after_s=max(1, math.ceil((until - now).total_seconds())))
        set_here: list[tuple[str, datetime | None]] = []
        for key, after in keys.items():
            counter = counters[key]
            failures = 1 if counter.last_at < forget_before else counter.failures + 1
            wait_s = lockout_s(failures, after, settings)
            until = now + timedelta(seconds=wait_s) if wait_s else None
            await login_throttle.save(
                conn, replace(counter, failures=failures, last_at=now, locked_until=until)
            )
            set_here.append((key, until))
        await login_throttle.forget(conn, forget_before)
    return Claim(account_key(user_id), tuple(set_here))


async def give_back(conn: psycopg.AsyncConnection[TupleRow], claim: Claim) -> None:
    """The attempt did not fail (or was never made): uncount it on every key."""
    async with conn.transaction():
        for key, until in claim.locked_by_this:
            await login_throttle.give_back(conn, key, until)


async def succeeded(conn: psycopg.AsyncConnection[TupleRow], claim: Claim) -> None:
    """The right password: the client's count gets this attempt back, the account starts over."""
    async with conn.transaction():
        for key, until in claim.locked_by_this:
            if key != claim.account_key:
                await login_throttle.give_back(conn, key, until)
        await login_throttle.clear(conn, claim.account_key)
