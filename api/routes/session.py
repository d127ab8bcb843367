"""Dashboard sessions (log in, log out) and who the caller is."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response

from api.auth import sessions
from api.auth.login_throttle import Throttled
from api.auth.principals import Principal, principal_from
from api.auth.secrets import digest
from api.deps import CurrentUser, DbConn, Res
from api.errors import ApiError
from api.schemas.common import error_responses
from api.schemas.session import LoginRequest, Me
from store.access import identities

router = APIRouter(tags=["session"], responses=error_responses(400))


def me_of(user: Principal) -> Me:
    visibility = user.visibility
    return Me(
        user_id=user.user_id,
        name=user.name,
        role=user.role.value,
        person_id=user.person_id,
        permissions=sorted(p.value for p in user.permissions),
        sites=None if visibility.sites is None else sorted(visibility.sites),
        households=None
        if visibility.households is None
        else [f"{s}/{h}" for s, h in sorted(visibility.households)],
        via=user.via,
        csrf_token=user.csrf_token,
    )


@router.get("/me", response_model=Me, responses=error_responses(401))
async def me(user: CurrentUser) -> Me:
    """The caller: role, permissions, the sites or households they see, and (sessions) the
    CSRF token to send with changes."""
    return me_of(user)


@router.post("/session", response_model=Me, responses=error_responses(401, 422, 429, 503))
async def log_in(
    conn: DbConn, res: Res, request: Request, response: Response, body: LoginRequest
) -> Me:
    """Log in with a user id and password: sets the session cookie (HttpOnly, SameSite=Lax,
    Secure) and returns the caller, CSRF token included. Wrong id or password: 401. Too many
    failures for the account or from the client's address: 429 `login_throttled` with
    Retry-After, whatever the password. Every password check busy: 503 `login_busy`."""
    outcome = await sessions.login(
        conn, response, res, body.user_id, body.password, sessions.client_address(request)
    )
    if isinstance(outcome, Throttled):
        raise ApiError(
            429,
            "Too many failed logins for this account or from this address; try again later.",
            code="login_throttled",
            headers={"Retry-After": str(outcome.retry_after_s)},
        )
    if outcome is sessions.Refused.BUSY:
        raise ApiError(
            503,
            "The server is busy checking other logins; try again in a moment.",
            code="login_busy",
            headers={"Retry-After": str(sessions.BUSY_RETRY_AFTER_S)},
        )
    if outcome is sessions.Refused.WRONG:
        raise ApiError(401, "Wrong user id or password.", code="login_failed")
    identity = await identities.identity_by_session(
        conn, digest(outcome.session_id), datetime.now(UTC), res.settings.session_idle_s
    )
    if identity is None:  # deactivated between the password check and now
        raise ApiError(401, "Wrong user id or password.", code="login_failed")
    return me_of(principal_from(identity, "session"))


@router.delete("/session", status_code=204, responses=error_responses(401, 403))
async def log_out(conn: DbConn, user: CurrentUser, request: Request) -> Response:
    """End the caller's dashboard session and clear its cookie."""
    response = Response(status_code=204)
    await sessions.logout(conn, request, response)
    return response
