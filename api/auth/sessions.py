"""Dashboard login sessions: check a password, set the cookie, end the session.

The cookie holds a random secret (the table keeps its SHA-256): HttpOnly, SameSite=Lax, Secure
unless settings say otherwise. Page routes call `login`/`logout` the same way the JSON API does;
both are throttled alike (api.auth.login_throttle, api.auth.hash_slots).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

import psycopg
from fastapi import Request, Response
from psycopg.rows import TupleRow
from starlette.concurrency import run_in_threadpool

from api.auth import login_throttle
from api.auth.authn import SESSION_COOKIE
from api.auth.login_throttle import Throttled
from api.auth.passwords import verify_password
from api.auth.secrets import digest, new_csrf_token, new_session_id
from api.resources import Resources
from store.access import audit_log, sessions, users


@dataclass(frozen=True, slots=True)
class LoggedIn:
    session_id: str


class Refused(Enum):
    #: Wrong user id or password (which one is not told).
    WRONG = "wrong"
    #: Every password-checking slot was taken: try again in a moment.
    BUSY = "busy"


#: What a busy answer asks the client to wait: hashes take tens of milliseconds.
BUSY_RETRY_AFTER_S = 1


async def login(
    conn: psycopg.AsyncConnection[TupleRow],
    response: Response,
    resources: Resources,
    user_id: str,
    password: str,
    client_address: str,
) -> LoggedIn | Refused | Throttled:
    """Check the password and start a session (its cookie set on `response`), unless the
    account or the client address is locked out (login_throttle) or every hash slot is busy.
    Every outcome but success is audited as a failed login."""
    settings = resources.settings
    verdict = await login_throttle.claim(conn, settings, user_id, client_address, datetime.now(UTC))
    if isinstance(verdict, Throttled):
        await _audit_failure(conn, user_id, client_address, "throttled")
        return verdict
    async with resources.hash_slots.slot() as free:
        if not free:
            await login_throttle.give_back(conn, verdict)
            await _audit_failure(conn, user_id, client_address, "busy")
            return Refused.BUSY
        stored = await users.password_hash_of(conn, user_id)
        # argon2 takes tens of milliseconds of CPU: off the event loop.
        right = await run_in_threadpool(verify_password, stored, password)
    if not right:
        await _audit_failure(conn, user_id, client_address, "wrong")
        return Refused.WRONG
    await login_throttle.succeeded(conn, verdict)
    now = datetime.now(UTC)
    session_id, csrf = new_session_id(), new_csrf_token()
    await sessions.create_session(
        conn,
        id_hash=digest(session_id),
        user_id=user_id,
        csrf_token=csrf,
        now=now,
        expires_at=now + timedelta(seconds=settings.session_max_age_s),
    )
    await audit_log.record(conn, actor=f"user:{user_id}", action="session.login")
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(settings.session_max_age_s),
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        path="/",
    )
    return LoggedIn(session_id)


async def _audit_failure(
    conn: psycopg.AsyncConnection[TupleRow], user_id: str, client_address: str, reason: str
) -> None:
    await audit_log.record(
        conn,
        actor="anonymous",
        action="session.login_failed",
        target=f"user:{user_id}",
        details={"reason": reason, "client": client_address},
    )


def client_address(request: Request) -> str:
    """The address logins are throttled by: the peer uvicorn reports (behind a trusted proxy,
    the one it forwarded for)."""
    return request.client.host if request.client else "unknown"


async def logout(
    conn: psycopg.AsyncConnection[TupleRow], request: Request, response: Response
) -> None:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        await sessions.end_session(conn, digest(session_id), datetime.now(UTC))
    response.delete_cookie(SESSION_COOKIE, path="/")
