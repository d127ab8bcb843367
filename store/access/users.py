"""Users: accounts that log in to the dashboard or hold API tokens, their roles and site scopes,
passwords (argon2 hashes only; the API hashes), deactivation.

Async, for the API's connection pool; `courtyard users` runs them through asyncio.run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import TupleRow, class_row

from store.access.changes import announce
from store.access.sessions import end_sessions_of

ROLES = ("admin", "manager", "volunteer", "operator", "integration")


class UserError(Exception):
    """A user or token cannot be created as asked (the message says why)."""


@dataclass(frozen=True, slots=True)
class User:
    id: str
    name: str
    role: str
    person_id: str | None
    all_sites: bool
    active: bool
    sites: list[str]


_USER_COLUMNS = """
    u.id, u.name, u.role, u.person_id, u.all_sites, u.active,
    coalesce((SELECT array_agg(us.site_id ORDER BY us.site_id) FROM user_sites us
              WHERE us.user_id = u.id), '{}') AS sites
"""


@dataclass(frozen=True, slots=True)
class NewUser:
    """A user to create, as the CLI (and the demo) build it; the password travels beside it
    (the CLI checks and hashes it, the store receives only the hash)."""

    user_id: str
    name: str
    role: str
    person_id: str | None = None
    sites: Sequence[str] = ()
    all_sites: bool = False
    #: What the user reads pages in (None: their person's, else the browser's).
    language: str | None = None


async def add_user(
    conn: psycopg.AsyncConnection[TupleRow], new: NewUser, password_hash: str | None = None
) -> User:
    """Create a user with its site scopes, in one transaction. Raises UserError."""
    user_id, role, person_id, sites = new.user_id, new.role, new.person_id, new.sites
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if role == "volunteer" and person_id is None:
        raise UserError("a volunteer user must be linked to a person (--person)")
    if role == "manager" and not (sites or new.all_sites):
        raise UserError("a manager needs at least one site (--site) or --all-sites")
    async with conn.transaction():
        missing = await _missing_sites(conn, sites)
        if missing:
            raise UserError(f"no such site: {', '.join(missing)}")
        if person_id is not None:
            cur = await conn.execute("SELECT 1 FROM people WHERE id = %s", (person_id,))
            if await cur.fetchone() is None:
                raise UserError(f"no such person: {person_id}")
        try:
            await conn.execute(
                """
                INSERT INTO users (id, name, role, person_id, all_sites, password_hash, language)
                VALUES (%s, %s, %s, %s, %s, %s, %s)
                """,
                (user_id, new.name, role, person_id, new.all_sites, password_hash, new.language),
            )
        except psycopg.errors.UniqueViolation:
            raise UserError(f"a user {user_id!r} exists already") from None
        except psycopg.errors.CheckViolation:
            raise UserError(f"user id must match [A-Za-z0-9_.@-]{{1,64}}: {user_id!r}") from None
        async with conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO user_sites (user_id, site_id) VALUES (%s, %s)",
                [(user_id, site) for site in sorted(set(sites))],
            )
    user = await get_user(conn, user_id)
    assert user is not None
    return user


async def _missing_sites(
    conn: psycopg.AsyncConnection[TupleRow], sites: Sequence[str]
) -> list[str]:
    cur = await conn.execute(
        "SELECT s FROM unnest(%s::text[]) s WHERE s NOT IN (SELECT id FROM sites) ORDER BY s",
        (list(sites),),
    )
    return [str(row[0]) for row in await cur.fetchall()]


async def anyone_can_log_in(conn: psycopg.AsyncConnection[TupleRow]) -> bool:
    """Whether some active user has a dashboard password."""
    cur = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM users WHERE active AND password_hash IS NOT NULL)"
    )
    row = await cur.fetchone()
    return bool(row and row[0])


async def get_user(conn: psycopg.AsyncConnection[TupleRow], user_id: str) -> User | None:
    async with conn.cursor(row_factory=class_row(User)) as cur:
        await cur.execute(f"SELECT {_USER_COLUMNS} FROM users u WHERE u.id = %s", (user_id,))
        return await cur.fetchone()


async def set_password(
    conn: psycopg.AsyncConnection[TupleRow], user_id: str, password_hash: str
) -> bool:
    cur = await conn.execute(
        "UPDATE users SET password_hash = %s WHERE id = %s", (password_hash, user_id)
    )
    return cur.rowcount == 1


async def password_hash_of(conn: psycopg.AsyncConnection[TupleRow], user_id: str) -> str | None:
    """The stored hash of an active user that may log in; None otherwise."""
    cur = await conn.execute(
        "SELECT password_hash FROM users WHERE id = %s AND active AND password_hash IS NOT NULL",
        (user_id,),
    )
    row = await cur.fetchone()
    return None if row is None else str(row[0])


async def list_users(conn: psycopg.AsyncConnection[TupleRow]) -> list[User]:
    async with conn.cursor(row_factory=class_row(User)) as cur:
        await cur.execute(f"SELECT {_USER_COLUMNS} FROM users u ORDER BY u.id")
        return await cur.fetchall()


async def deactivate_user(
    conn: psycopg.AsyncConnection[TupleRow], user_id: str, at: datetime
) -> bool:
    """Deactivate a user and end every token and session of theirs, in one transaction (were
    the user reactivated later, nothing issued before would work again). False: no such user."""
    async with conn.transaction():
        cur = await conn.execute("UPDATE users SET active = false WHERE id = %s", (user_id,))
        if cur.rowcount != 1:
            return False
        await conn.execute(
            "UPDATE api_tokens SET revoked_at = %s WHERE user_id = %s AND revoked_at IS NULL",
            (at, user_id),
        )
        await end_sessions_of(conn, user_id, at)
        await announce(conn)
    return True


async def reset_password(
    conn: psycopg.AsyncConnection[TupleRow], user_id: str, password_hash: str, at: datetime
) -> bool:
    """Set a new password and end the user's sessions (someone who knew the old one may hold
    one), in one transaction. Tokens stay: they were issued, not logged in to. False: no such
    user."""
    async with conn.transaction():
        if not await set_password(conn, user_id, password_hash):
            return False
        await end_sessions_of(conn, user_id, at)
        await announce(conn)
    return True
