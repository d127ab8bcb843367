"""How page routes answer when something goes wrong: HTML, never JSON and never a traceback.

`PageRoute` wraps each page's handler (its dependencies included): no session sends the browser
to the login form; a refusal, something out of the caller's scope (404, as the API answers),
an invalid address or form, or a failure becomes a friendly error page with the same status.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlencode

import psycopg
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response

from api.errors import DATABASE_UNAVAILABLE, ApiError, body
from api.pages.templates import render

logger = logging.getLogger(__name__)

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
SAFE_METHODS = frozenset({"GET", "HEAD"})


def see_other(url: str) -> RedirectResponse:
    """After a form post, or to send the browser elsewhere: 303, so the next request is a GET."""
    return RedirectResponse(url, status_code=303)


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go back to after a form; anything else (another site, `//host`,
    `/\\host`) is replaced by `default` so that a link cannot redirect people away."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith(("//", "/\\"))
        or any(ord(c) < 0x20 for c in target)
    ):
        return default
    return target


def login_redirect(request: Request) -> RedirectResponse:
    """To the login form; a page asked for with GET is where the browser returns after it."""
    if request.method in SAFE_METHODS:
        wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return see_other("/login?" + urlencode({"next": wanted}))
    return see_other("/login")


def error_page(
    request: Request,
    status: int,
    *,
    code: str | None = None,
    fields: list[str] | None = None,
) -> Response:
    return render(
        request,
        "error.html",
        None,
        {"status": status, "code": code, "fields": fields or []},
        status_code=status,
    )


class PageRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except ApiError as exc:
                if exc.status == 401:
                    return login_redirect(request)
                return error_page(request, exc.status, code=exc.code)
            except RequestValidationError as exc:
                # The parameter's own name (the last part of where it was): the page names it.
                fields = [str(e["loc"][-1]) for e in exc.errors() if e.get("loc")]
                return error_page(request, 422, code="invalid_request", fields=fields)
            except HTTPException as exc:
                return error_page(request, exc.status_code)
            except (PoolTimeout, psycopg.OperationalError) as exc:
                logger.warning("database unavailable for page %s: %s", request.url.path, exc)
                return error_page(request, 503, code=DATABASE_UNAVAILABLE)
            except Exception:
                logger.exception("unhandled error in page %s %s", request.method, request.url.path)
                return error_page(request, 500, code="internal_error")

        return page_handler


def page_router() -> APIRouter:
    """A router of dashboard pages: outside the OpenAPI schema, answering in HTML."""
    return APIRouter(include_in_schema=False, route_class=PageRoute)


def _wants_page(request: Request) -> bool:
    """A browser finding its way (not a client of the JSON API or a script or style)."""
    return (
        request.method in SAFE_METHODS
        and not request.url.path.startswith("/api/")
        and "text/html" in request.headers.get("accept", "")
    )


async def not_found(request: Request, exc: Exception) -> Response:
    """No route, or no such static file: a page for a browser, the API's JSON for the rest."""
    if _wants_page(request):
        return error_page(request, 404)
    detail = exc.detail if isinstance(exc, HTTPException) else None
    message = detail if isinstance(detail, str) else "Not found."
    return JSONResponse(body(404, "not_found", message), status_code=404)
