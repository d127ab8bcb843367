"""Dashboard login sessions: check a password, set the cookie, end the session.

The cookie holds a random secret (the table keeps its SHA-256): HttpOnly, SameSite=Lax, Secure
unless settings say otherwise. Page routes call `login`/`logout` the same way the JSON API does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
from fastapi import Request, Response
from psycopg.rows import TupleRow
from starlette.concurrency import run_in_threadpool

from api.authn import SESSION_COOKIE
from api.passwords import verify_password
from api.secrets import digest, new_csrf_token, new_session_id
from api.settings import ApiSettings
from store import access


async def login(
    conn: psycopg.AsyncConnection[TupleRow],
    response: Response,
    settings: ApiSettings,
    user_id: str,
    password: str,
) -> str | None:
    """Start a session and set its cookie on `response`; returns the session's secret, or None
    when the user id or password is wrong (which one is not told). Both outcomes are audited."""
    stored = await access.password_hash_of(conn, user_id)
    # argon2 takes tens of milliseconds of CPU: off the event loop.
    if not await run_in_threadpool(verify_password, stored, password):
        await access.audit(
            conn, actor="anonymous", action="session.login_failed", target=f"user:{user_id}"
        )
        return None
    now = datetime.now(UTC)
    session_id, csrf = new_session_id(), new_csrf_token()
    await access.create_session(
        conn,
        id_hash=digest(session_id),
        user_id=user_id,
        csrf_token=csrf,
        now=now,
        expires_at=now + timedelta(seconds=settings.session_max_age_s),
    )
    await access.audit(conn, actor=f"user:{user_id}", action="session.login")
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(settings.session_max_age_s),
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        path="/",
    )
    return session_id


async def logout(
    conn: psycopg.AsyncConnection[TupleRow], request: Request, response: Response
) -> None:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        await access.end_session(conn, digest(session_id), datetime.now(UTC))
    response.delete_cookie(SESSION_COOKIE, path="/")
