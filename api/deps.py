"""Dependencies as `Annotated` aliases: the connection, the caller, and permission checks.

Authorisation lives here and in the store's Visibility: a route declares what it needs
(`user: AlertsReader`) and its body is a query and a return.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

import psycopg
from fastapi import Depends, Request, Security
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from psycopg.rows import TupleRow

from api.auth.authn import SESSION_COOKIE, authenticate
from api.auth.principals import Permission, Principal
from api.errors import forbidden
from api.resources import Resources

# Declared so that OpenAPI documents both ways in; `authenticate` does the checking.
_bearer = HTTPBearer(
    auto_error=False, description="A token from `courtyard tokens create`.", scheme_name="token"
)
_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description="The dashboard's session (state changes also need the CSRF token).",
    scheme_name="session",
)


async def _resources(request: Request) -> Resources:
    # async: a plain `def` dependency would cost every request a hop to the thread pool.
    resources: Resources = request.state.resources
    return resources


Res = Annotated[Resources, Depends(_resources)]


async def _connection(resources: Res) -> AsyncIterator[psycopg.AsyncConnection[TupleRow]]:
    async with resources.pool.connection() as conn:
        yield conn


DbConn = Annotated[psycopg.AsyncConnection[TupleRow], Depends(_connection)]


async def _current_user(
    request: Request,
    conn: DbConn,
    resources: Res,
    _token: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    _session: Annotated[str | None, Security(_cookie)],
) -> Principal:
    return await authenticate(conn, request, resources.settings, resources.auth_cache)


CurrentUser = Annotated[Principal, Depends(_current_user)]


async def _stream_user(
    request: Request,
    resources: Res,
    _token: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    _session: Annotated[str | None, Security(_cookie)],
) -> Principal:
    # A stream lasts: hold a connection only while authenticating, not for its lifetime.
    async with resources.pool.connection() as conn:
        return await authenticate(conn, request, resources.settings, resources.auth_cache)


StreamUser = Annotated[Principal, Depends(_stream_user)]


def requiring(permission: Permission) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(user: CurrentUser) -> Principal:
        if not user.can(permission):
            raise forbidden(permission.value)
        return user

    return check


DevicesReader = Annotated[Principal, Depends(requiring(Permission.DEVICES_READ))]
AlertsReader = Annotated[Principal, Depends(requiring(Permission.ALERTS_READ))]
AlertsWriter = Annotated[Principal, Depends(requiring(Permission.ALERTS_WRITE))]
RulesReader = Annotated[Principal, Depends(requiring(Permission.RULES_READ))]
RulesWriter = Annotated[Principal, Depends(requiring(Permission.RULES_WRITE))]
RejectsReader = Annotated[Principal, Depends(requiring(Permission.REJECTS_READ))]
PlacesReader = Annotated[Principal, Depends(requiring(Permission.PLACES_READ))]
PlacesWriter = Annotated[Principal, Depends(requiring(Permission.PLACES_WRITE))]
