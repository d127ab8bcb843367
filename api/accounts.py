"""Managing users and tokens, for `courtyard users|tokens` and the admins' API alike.

Each change is written to the audit log with who made it (`system` for the command line,
`user:<id>` for an admin through the API), in the same transaction as the change. Inputs are
checked here once for both ways in: a problem is a message, not an exception.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import psycopg
from psycopg.rows import TupleRow

from store.access import audit_log, tokens, users

#: As the users table's CHECK says.
USER_ID_PATTERN = r"^[A-Za-z0-9_.@-]{1,64}$"
#: Passwords people choose: long enough to resist guessing, short enough to hash cheaply.
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
#: Tokens live at least a day and at most two years: a token that never expires is a leak
#: waiting to happen, and one born expired is a mistake.
MIN_TOKEN_DAYS = 1
MAX_TOKEN_DAYS = 730
MAX_NAME_LENGTH = 200
#: The actor of changes made with the `courtyard` command.
CLI_ACTOR = "system"


def user_id_problem(user_id: str) -> str | None:
    if re.fullmatch(USER_ID_PATTERN, user_id) is None:
        return f"a user id must match [A-Za-z0-9_.@-]{{1,64}}, not {user_id!r}"
    return None


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password needs at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"a password has at most {MAX_PASSWORD_LENGTH} characters"
    if "\x00" in password:
        return "a password cannot contain NUL characters"
    return None


def token_days_problem(days: int) -> str | None:
    if not MIN_TOKEN_DAYS <= days <= MAX_TOKEN_DAYS:
        return f"a token is valid {MIN_TOKEN_DAYS} to {MAX_TOKEN_DAYS} days, not {days}"
    return None


def name_problem(name: str, what: str) -> str | None:
    if not name.strip() or len(name) > MAX_NAME_LENGTH:
        return f"{what} must be 1 to {MAX_NAME_LENGTH} characters"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        return f"{what} cannot contain control characters"
    return None


async def revoke_token(
    conn: psycopg.AsyncConnection[TupleRow], token_id: int, *, actor: str
) -> bool | None:
    """True: revoked now; False: it was revoked already; None: no such token."""
    async with conn.transaction():
        token = await tokens.get_token(conn, token_id)
        if token is None:
            return None
        revoked = await tokens.revoke_token(conn, token_id, datetime.now(UTC))
        if revoked:
            await audit_log.record(
                conn,
                actor=actor,
                action="token.revoke",
                target=f"token:{token_id}",
                details={"user": token.user_id},
            )
    return revoked


async def deactivate_user(
    conn: psycopg.AsyncConnection[TupleRow], user_id: str, *, actor: str
) -> users.User | None:
    """Deactivate the user and end their tokens and sessions; None: no such user."""
    async with conn.transaction():
        if not await users.deactivate_user(conn, user_id, datetime.now(UTC)):
            return None
        await audit_log.record(
            conn, actor=actor, action="user.deactivate", target=f"user:{user_id}"
        )
    return await users.get_user(conn, user_id)


async def reset_password(
    conn: psycopg.AsyncConnection[TupleRow], user_id: str, password_hash: str, *, actor: str
) -> bool:
    """Set the user's password and end their sessions; False: no such user."""
    async with conn.transaction():
        if not await users.reset_password(conn, user_id, password_hash, datetime.now(UTC)):
            return False
        await audit_log.record(
            conn, actor=actor, action="user.reset_password", target=f"user:{user_id}"
        )
    return True
