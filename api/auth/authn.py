"""Authentication: a bearer token or a dashboard session cookie -> Principal, or 401.

Requests authenticated by the session cookie must prove they come from our pages when they
change something: the session's CSRF token in the `X-CSRF-Token` header or a `csrf_token` form
field (SameSite=Lax keeps the cookie off most cross-site requests; the token covers the rest).
Bearer tokens are not sent by browsers on their own, so they need no CSRF token.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
from fastapi import Request
from psycopg.rows import TupleRow

from api.auth.authcache import AuthCache
from api.auth.principals import Principal, principal_from
from api.auth.secrets import digest, same
from api.errors import ApiError
from api.settings import ApiSettings
from store.access import identities, sessions, tokens

SESSION_COOKIE = "courtyard_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: last_used_at of tokens and sessions is written at most this often: not one write per request.
_TOUCH_EVERY = timedelta(seconds=60)


def unauthenticated(message: str = "Authentication is required.") -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": "Bearer"})


async def authenticate(
    conn: psycopg.AsyncConnection[TupleRow],
    request: Request,
    settings: ApiSettings,
    cache: AuthCache | None = None,
) -> Principal:
    now = datetime.now(UTC)
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthenticated("Use an `Authorization: Bearer <token>` header.")
        token_hash = digest(token.strip())
        cached = cache.get(token_hash) if cache is not None else None
        if cached is not None:
            return cached
        identity = await identities.identity_by_token(conn, token_hash, now)
        if identity is None:
            raise unauthenticated("The token is invalid, expired or revoked.")
        if identity.token_id is not None and _stale(identity.last_used_at, now):
            await tokens.touch_token(conn, identity.token_id, now)
        principal = principal_from(identity, "token")
        if cache is not None:
            cache.put(token_hash, principal)
        return principal
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        id_hash = digest(session_id)
        identity = await identities.identity_by_session(conn, id_hash, now, settings.session_idle_s)
        if identity is None:
            raise unauthenticated("The session has ended; log in again.")
        if _stale(identity.last_used_at, now):
            await sessions.touch_session(conn, id_hash, now)
        principal = principal_from(identity, "session")
        if request.method not in SAFE_METHODS:
            await _check_csrf(request, principal)
        return principal
    raise unauthenticated()


async def current_principal(
    conn: psycopg.AsyncConnection[TupleRow], request: Request, settings: ApiSettings
) -> Principal | None:
    """The caller of an already authenticated request as the database says now: no cache,
    nothing written (a stream's re-check does not keep a session from idling out). None once
    the token or session has ended or the user was deactivated."""
    now = datetime.now(UTC)
    header = request.headers.get("authorization")
    if header is not None:
        _, _, token = header.partition(" ")
        identity = await identities.identity_by_token(conn, digest(token.strip()), now)
        return None if identity is None else principal_from(identity, "token")
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        identity = await identities.identity_by_session(
            conn, digest(session_id), now, settings.session_idle_s
        )
        return None if identity is None else principal_from(identity, "session")
    return None


def _stale(last_used_at: datetime | None, now: datetime) -> bool:
    return last_used_at is None or now - last_used_at > _TOUCH_EVERY


async def _check_csrf(request: Request, principal: Principal) -> None:
    sent = request.headers.get(CSRF_HEADER)
    content_type = request.headers.get("content-type", "")
    if sent is None and content_type.startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if sent is None or principal.csrf_token is None or not same(sent, principal.csrf_token):
        raise ApiError(
            403,
            "This change needs the session's CSRF token.",
            code="csrf_failed",
        )
