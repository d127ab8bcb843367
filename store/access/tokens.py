"""API tokens: created for a user with optional narrowed scopes and an expiry, listed, revoked.
Only SHA-256 hashes of tokens reach the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import TupleRow, class_row

from store.access.changes import announce
from store.access.users import UserError


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
        await announce(conn)
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


async def touch_token(conn: psycopg.AsyncConnection[TupleRow], token_id: int, at: datetime) -> None:
    await conn.execute("UPDATE api_tokens SET last_used_at = %s WHERE id = %s", (at, token_id))
