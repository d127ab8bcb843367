"""Users, API tokens, dashboard sessions and the audit log: the queries behind API access control.

Secrets never reach this module: callers pass SHA-256 hashes of tokens and session ids, and
argon2 hashes of passwords. Async, for the API's connection pool; `courtyard users/tokens`
run them through asyncio.run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import TupleRow, class_row
from psycopg.types.json import Jsonb

ROLES = ("admin", "manager", "volunteer", "operator", "integration")
#: NOTIFYed (at commit) when a token is revoked, a session ends or a user is deactivated: API
#: processes drop their cached authentications and re-check their open streams at once.
ACCESS_CHANNEL = "courtyard_access_changes"


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


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a valid token or session belongs to, with what scopes that user's access."""

    user_id: str
    name: str
    role: str
    person_id: str | None
    all_sites: bool
    sites: list[str]
    #: The (site, household) pairs the linked person is a primary or backup volunteer of.
    household_sites: list[str]
    household_ids: list[str]
    #: Token: its id and narrowed scopes (None: the role's). Session: None, None.
    token_id: int | None
    token_scopes: list[str] | None
    #: Session: its CSRF token. Token: None.
    csrf_token: str | None
    last_used_at: datetime | None
    #: The user's own language (else their linked person's); None: not chosen.
    language: str | None = None
    #: The default language of the user's (first) site, else the platform's.
    site_language: str | None = None


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    user_id: str
    name: str
    scopes: list[str] | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


_USER_COLUMNS = """
    u.id, u.name, u.role, u.person_id, u.all_sites, u.active,
    coalesce((SELECT array_agg(us.site_id ORDER BY us.site_id) FROM user_sites us
              WHERE us.user_id = u.id), '{}') AS sites
"""

_IDENTITY_COLUMNS = """
    u.id AS user_id, u.name, u.role, u.person_id, u.all_sites,
    coalesce((SELECT array_agg(us.site_id ORDER BY us.site_id) FROM user_sites us
              WHERE us.user_id = u.id), '{}') AS sites,
    coalesce(hh.sites, '{}') AS household_sites, coalesce(hh.ids, '{}') AS household_ids,
    coalesce(u.language, (SELECT p.language FROM people p WHERE p.id = u.person_id)) AS language,
    coalesce((SELECT s.language FROM user_sites us JOIN sites s ON s.id = us.site_id
              WHERE us.user_id = u.id ORDER BY us.site_id LIMIT 1),
             (SELECT d.language FROM site_defaults d)) AS site_language
"""

_HOUSEHOLDS_OF_PERSON = """
LEFT JOIN LATERAL (
    SELECT array_agg(a.site_id ORDER BY a.site_id, a.household_id) AS sites,
           array_agg(a.household_id ORDER BY a.site_id, a.household_id) AS ids
    FROM (SELECT DISTINCT site_id, household_id FROM assignments
          WHERE person_id = u.person_id AND role IN ('primary', 'backup')) a
) hh ON true
"""


async def add_user(
    conn: psycopg.AsyncConnection[TupleRow],
    *,
    user_id: str,
    name: str,
    role: str,
    person_id: str | None = None,
    sites: Sequence[str] = (),
    all_sites: bool = False,
    password_hash: str | None = None,
    language: str | None = None,
) -> User:
    """Create a user with its site scopes, in one transaction. Raises UserError.

    `language` is what the user reads pages in (None: their person's, else the browser's)."""
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if role == "volunteer" and person_id is None:
        raise UserError("a volunteer user must be linked to a person (--person)")
    if role == "manager" and not (sites or all_sites):
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
                (user_id, name, role, person_id, all_sites, password_hash, language),
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


async def create_token(
    conn: psycopg.AsyncConnection[TupleRow],
    *,
    user_id: str,
    name: str,
    token_hash: bytes,
    scopes: Sequence[str] | None,
    expires_at: datetime,
) -> TokenInfo:
    async with conn.cursor(row_factory=class_row(TokenInfo)) as cur:
        try:
            await cur.execute(
                """
                INSERT INTO api_tokens (user_id, name, token_hash, scopes, expires_at)
                VALUES (%s, %s, %s, %s, %s)
                RETURNING id, user_id, name, scopes, created_at, expires_at, revoked_at,
                          last_used_at
                """,
                (user_id, name, token_hash, None if scopes is None else list(scopes), expires_at),
            )
        except psycopg.errors.ForeignKeyViolation:
            raise UserError(f"no such user: {user_id}") from None
        token = await cur.fetchone()
    assert token is not None
    return token


async def revoke_token(
    conn: psycopg.AsyncConnection[TupleRow], token_id: int, at: datetime
) -> bool:
    """Revoke an unrevoked token; False when there is no such token or it was revoked already."""
    cur = await conn.execute(
        "UPDATE api_tokens SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL",
        (at, token_id),
    )
    if cur.rowcount == 1:
        await _access_changed(conn)
    return cur.rowcount == 1


_TOKEN_COLUMNS = "id, user_id, name, scopes, created_at, expires_at, revoked_at, last_used_at"


async def tokens_of(conn: psycopg.AsyncConnection[TupleRow], user_id: str) -> list[TokenInfo]:
    return await list_tokens(conn, user_id)


async def list_tokens(
    conn: psycopg.AsyncConnection[TupleRow], user_id: str | None = None
) -> list[TokenInfo]:
    """Every token (revoked and expired ones too), or one user's, oldest first."""
    async with conn.cursor(row_factory=class_row(TokenInfo)) as cur:
        await cur.execute(
            f"""
            SELECT {_TOKEN_COLUMNS} FROM api_tokens
            WHERE %(user)s::text IS NULL OR user_id = %(user)s ORDER BY id
            """,
            {"user": user_id},
        )
        return await cur.fetchall()


async def get_token(conn: psycopg.AsyncConnection[TupleRow], token_id: int) -> TokenInfo | None:
    async with conn.cursor(row_factory=class_row(TokenInfo)) as cur:
        await cur.execute(f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE id = %s", (token_id,))
        return await cur.fetchone()


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
        await _end_sessions_of(conn, user_id, at)
        await _access_changed(conn)
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
        await _end_sessions_of(conn, user_id, at)
        await _access_changed(conn)
    return True


async def _end_sessions_of(
    conn: psycopg.AsyncConnection[TupleRow], user_id: str, at: datetime
) -> None:
    await conn.execute(
        "UPDATE dashboard_sessions SET revoked_at = %s WHERE user_id = %s AND revoked_at IS NULL",
        (at, user_id),
    )


async def _access_changed(conn: psycopg.AsyncConnection[TupleRow]) -> None:
    # Delivered at commit (at once in autocommit); the payload is not needed.
    await conn.execute("SELECT pg_notify(%s, '')", (ACCESS_CHANNEL,))


async def identity_by_token(
    conn: psycopg.AsyncConnection[TupleRow], token_hash: bytes, now: datetime
) -> Identity | None:
    """The active user of an unexpired, unrevoked token; None for anything else."""
    async with conn.cursor(row_factory=class_row(Identity)) as cur:
        await cur.execute(
            f"""
            SELECT {_IDENTITY_COLUMNS}, t.id AS token_id, t.scopes AS token_scopes,
                   NULL::text AS csrf_token, t.last_used_at
            FROM api_tokens t JOIN users u ON u.id = t.user_id
            {_HOUSEHOLDS_OF_PERSON}
            WHERE t.token_hash = %s AND t.revoked_at IS NULL AND t.expires_at > %s AND u.active
            """,
            (token_hash, now),
        )
        return await cur.fetchone()


async def touch_token(conn: psycopg.AsyncConnection[TupleRow], token_id: int, at: datetime) -> None:
    await conn.execute("UPDATE api_tokens SET last_used_at = %s WHERE id = %s", (at, token_id))


async def create_session(
    conn: psycopg.AsyncConnection[TupleRow],
    *,
    id_hash: bytes,
    user_id: str,
    csrf_token: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(
        """
        INSERT INTO dashboard_sessions (id_hash, user_id, csrf_token, created_at, last_seen_at,
                                        expires_at)
        VALUES (%s, %s, %s, %s, %s, %s)
        """,
        (id_hash, user_id, csrf_token, now, now, expires_at),
    )


async def identity_by_session(
    conn: psycopg.AsyncConnection[TupleRow], id_hash: bytes, now: datetime, idle_s: float
) -> Identity | None:
    """The active user of a live session (not revoked, not expired, not idle longer than idle_s)."""
    async with conn.cursor(row_factory=class_row(Identity)) as cur:
        await cur.execute(
            f"""
            SELECT {_IDENTITY_COLUMNS}, NULL::bigint AS token_id, NULL::text[] AS token_scopes,
                   s.csrf_token, s.last_seen_at AS last_used_at
            FROM dashboard_sessions s JOIN users u ON u.id = s.user_id
            {_HOUSEHOLDS_OF_PERSON}
            WHERE s.id_hash = %s AND s.revoked_at IS NULL AND s.expires_at > %s
              AND s.last_seen_at > %s - make_interval(secs => %s) AND u.active
            """,
            (id_hash, now, now, idle_s),
        )
        return await cur.fetchone()


async def touch_session(
    conn: psycopg.AsyncConnection[TupleRow], id_hash: bytes, at: datetime
) -> None:
    await conn.execute(
        "UPDATE dashboard_sessions SET last_seen_at = %s WHERE id_hash = %s", (at, id_hash)
    )


async def end_session(
    conn: psycopg.AsyncConnection[TupleRow], id_hash: bytes, at: datetime
) -> None:
    cur = await conn.execute(
        "UPDATE dashboard_sessions SET revoked_at = %s WHERE id_hash = %s AND revoked_at IS NULL",
        (at, id_hash),
    )
    if cur.rowcount == 1:
        await _access_changed(conn)


async def audit(
    conn: psycopg.AsyncConnection[TupleRow],
    *,
    actor: str,
    action: str,
    target: str = "",
    site_id: str | None = None,
    details: Mapping[str, object] | None = None,
) -> None:
    """Append to the audit log (commits with the caller's transaction, or at once in autocommit)."""
    await conn.execute(_AUDIT, (actor, action, target, site_id, Jsonb(dict(details or {}))))


def audit_sync(
    conn: psycopg.Connection[TupleRow],
    *,
    actor: str,
    action: str,
    target: str = "",
    site_id: str | None = None,
    details: Mapping[str, object] | None = None,
) -> None:
    """`audit` for synchronous callers (the CLI), in the caller's transaction."""
    conn.execute(_AUDIT, (actor, action, target, site_id, Jsonb(dict(details or {}))))


_AUDIT = (
    "INSERT INTO audit_log (actor, action, target, site_id, details) VALUES (%s, %s, %s, %s, %s)"
)
