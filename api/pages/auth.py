"""Logging in and out of the dashboard, and the landing page that sends each role home.

The login form is protected against login CSRF (a forged form logging a victim into someone
else's account) with a double-submit token: a random value in a SameSite=Strict cookie that the
form must echo. Wrong passwords are throttled as on the JSON API (api.auth.login_throttle). Once
logged in, every form carries the session's own CSRF token, which
`CurrentUser` checks on every state change.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request
from starlette.responses import Response

from api.auth import sessions
from api.auth.authn import authenticate
from api.auth.login_throttle import Throttled
from api.auth.principals import Principal
from api.auth.secrets import new_csrf_token, same
from api.deps import CurrentUser, DbConn, Res
from api.errors import ApiError
from api.pages.access import home_of
from api.pages.routing import page_router, safe_next, see_other
from api.pages.templates import render
from store.places import place_reads

router = page_router()

LOGIN_COOKIE = "courtyard_login"
#: Long enough to type a password after a coffee; the form is reissued on every GET anyway.
_LOGIN_FORM_MAX_AGE_S = 3600
#: Longer input than this is not a user id or password of ours: refused without a lookup.
_MAX_FIELD = 1024

FormText = Annotated[str, Form(max_length=_MAX_FIELD)]


async def _signed_in(conn: DbConn, res: Res, request: Request) -> Principal | None:
    try:
        return await authenticate(conn, request, res.settings, res.auth_cache)
    except ApiError:
        return None


def _login_page(
    request: Request,
    res: Res,
    *,
    next_url: str,
    problem: str | None,
    status_code: int = 200,
    retry_after_s: int | None = None,
) -> Response:
    token = new_csrf_token()
    response = render(
        request,
        "login.html",
        None,
        {"login_token": token, "next": next_url, "problem": problem},
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=_LOGIN_FORM_MAX_AGE_S,
        httponly=True,
        secure=res.settings.cookie_secure,
        samesite="strict",
        path="/login",
    )
    if retry_after_s is not None:
        response.headers["Retry-After"] = str(retry_after_s)
    return response


@router.get("/login")
async def login_form(
    request: Request,
    conn: DbConn,
    res: Res,
    next_url: Annotated[str | None, Query(alias="next", max_length=2000)] = None,
    bye: Annotated[bool, Query()] = False,
) -> Response:
    """The login form; someone already logged in goes on to where they were heading."""
    next_url = safe_next(next_url)
    if await _signed_in(conn, res, request) is not None:
        return see_other(next_url)
    problem = "logged_out" if bye else None
    return _login_page(request, res, next_url=next_url, problem=problem)


@router.post("/login")
async def log_in(
    request: Request,
    conn: DbConn,
    res: Res,
    user_id: FormText = "",
    password: FormText = "",
    login_token: FormText = "",
    next_url: Annotated[str, Form(alias="next", max_length=2000)] = "/",
) -> Response:
    next_url = safe_next(next_url)
    expected = request.cookies.get(LOGIN_COOKIE)
    if not expected or not login_token or not same(login_token, expected):
        return _login_page(request, res, next_url=next_url, problem="expired", status_code=403)
    if not user_id or "\x00" in user_id or "\x00" in password:
        return _login_page(request, res, next_url=next_url, problem="wrong", status_code=401)
    response = see_other(next_url)
    outcome = await sessions.login(
        conn, response, res, user_id, password, sessions.client_address(request)
    )
    if isinstance(outcome, Throttled):
        return _login_page(
            request,
            res,
            next_url=next_url,
            problem="throttled",
            status_code=429,
            retry_after_s=outcome.retry_after_s,
        )
    if outcome is sessions.Refused.BUSY:
        return _login_page(
            request,
            res,
            next_url=next_url,
            problem="busy",
            status_code=503,
            retry_after_s=sessions.BUSY_RETRY_AFTER_S,
        )
    if outcome is sessions.Refused.WRONG:
        return _login_page(request, res, next_url=next_url, problem="wrong", status_code=401)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
async def log_out(request: Request, conn: DbConn, user: CurrentUser) -> Response:
    """End the session (the form carries its CSRF token, checked by CurrentUser)."""
    response = see_other("/login?bye=1")
    await sessions.logout(conn, request, response)
    return response


@router.get("/")
async def landing(request: Request, conn: DbConn, user: CurrentUser) -> Response:
    """Each role's home: volunteers their households, managers their site (or sites)."""
    sites = [s.id for s in await place_reads.list_sites(conn, user.visibility)]
    home = home_of(user, sites)
    if home is not None:
        return see_other(home)
    return render(request, "no_pages.html", user)
