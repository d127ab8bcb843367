"""Every error is JSON: `{"error": {"code", "message", "fields"}}`; nothing returns a traceback.

Routes raise `ApiError` (or its helpers); validation errors become 422 naming each field; a lost
database becomes 503; anything else is logged once here and answered with a plain 500.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    500: "internal_error",
    503: "unavailable",
}


#: The code of every answer given because the database is down, frozen or out of connections.
DATABASE_UNAVAILABLE = "database_unavailable"


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        fields: Sequence[tuple[str, str]] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.message = message
        self.fields = list(fields)
        self.headers = headers


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found.")


def forbidden(permission: str) -> ApiError:
    return ApiError(403, f"This needs the {permission} permission.")


def invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "The request is invalid.", fields=[(field, message)])


def body(
    status: int, code: str, message: str, fields: Sequence[tuple[str, str]] = ()
) -> dict[str, object]:
    return {
        "error": {
            "code": code,
            "message": message,
            "fields": [{"field": f, "message": m} for f, m in fields],
        }
    }


def _response(error: ApiError) -> JSONResponse:
    return JSONResponse(
        body(error.status, error.code, error.message, error.fields),
        status_code=error.status,
        headers=error.headers,
    )


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return _response(exc)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "The request failed."
    return JSONResponse(
        body(exc.status_code, _CODES.get(exc.status_code, "error"), message),
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error.get("loc", ()))
        fields.append((location, str(error.get("msg", "invalid"))))
    names = ", ".join(f for f, _ in fields) or "the request"
    message = f"Invalid value for {names}."
    return JSONResponse(body(422, "invalid_request", message, fields), status_code=422)


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("database unavailable for %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(
        body(503, DATABASE_UNAVAILABLE, "The database is unavailable; try again shortly."),
        status_code=503,
        headers={"Retry-After": "5"},
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(PoolTimeout, _database_unavailable)
    app.add_exception_handler(psycopg.OperationalError, _database_unavailable)
    app.add_middleware(CatchAll)


class CatchAll:
    """Turns an unexpected exception into a 500 JSON answer, logged once with its traceback.

    Starlette's own last-resort handler re-raises to the server after answering, which logs
    the error a second time; this one is the end of the line.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception:
            logger.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise  # the answer is half sent: only the server can end the connection
            response = JSONResponse(
                body(500, "internal_error", "Something went wrong on our side."), status_code=500
            )
            await response(scope, receive, send)
