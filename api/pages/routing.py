"""How page routes answer when something goes wrong: HTML, never JSON and never a traceback.

`PageRoute` wraps each page's handler (its dependencies included): no session sends the browser
to the login form; a refusal, something out of the caller's scope (404, as the API answers),
an invalid address or form, or a failure becomes a friendly error page with the same status,
in the reader's own language (their setting, as the page itself would be) with their navigation.

A GET form sends its empty fields too (`?from=&to=`): for a page, an empty field is an absent
one, so the page's default applies instead of a 422 on a value nobody typed.
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

from api.auth.authn import current_principal
from api.auth.principals import Principal
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
    reader: Principal | None = None,
) -> Response:
    return render(
        request,
        "error.html",
        reader,
        # The language switch goes home: an error page does not repeat an address it refused.
        {"status": status, "code": code, "fields": fields or [], "language_next": "/"},
        status_code=status,
    )


def drop_empty_fields(request: Request) -> None:
    """Remove the empty fields (`name=` or a bare `name`) from the request's query string, before
    anything parses it: each page parameter then takes its default."""
    query: bytes = request.scope.get("query_string", b"")
    if not query:
        return
    fields = query.split(b"&")
    kept = [f for f in fields if f.partition(b"=")[2]]
    if len(kept) != len(fields):
        request.scope["query_string"] = b"&".join(kept)


async def reader_of(request: Request) -> Principal | None:
    """Who is reading an error page, as the database says (nothing cached, nothing written):
    their language and navigation. None for nobody signed in, or when it cannot be told."""
    resources = getattr(request.state, "resources", None)
    if resources is None:
        return None
    try:
        async with resources.pool.connection() as conn:
            return await current_principal(conn, request, resources.settings)
    except (PoolTimeout, psycopg.Error) as exc:
        logger.info("error page without its reader for %s: %s", request.url.path, exc)
        return None


class PageRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            drop_empty_fields(request)
            try:
                return await handler(request)
            except ApiError as exc:
                if exc.status == 401:
                    return login_redirect(request)
                reader = await reader_of(request)
                return error_page(request, exc.status, code=exc.code, reader=reader)
            except RequestValidationError as exc:
                # The parameter's own name (the last part of where it was): the page names it.
                fields = [str(e["loc"][-1]) for e in exc.errors() if e.get("loc")]
                reader = await reader_of(request)
                return error_page(
                    request, 422, code="invalid_request", fields=fields, reader=reader
                )
            except HTTPException as exc:
                return error_page(request, exc.status_code, reader=await reader_of(request))
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
