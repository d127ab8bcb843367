"""The caller's language: their own setting, else the browser's Accept-Language, else their
site's default (i18n.languages.choose). Pages and the API's human texts (alert summaries, labels)
follow it; codes (status, category, severity) stay the same English identifiers for everyone.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.auth.principals import Principal
from api.deps import CurrentUser, StreamUser
from i18n.languages import choose


def request_language(request: Request, user: Principal | None) -> str:
    """The language of what `request` gets back (`user` None: nobody signed in yet)."""
    accept = request.headers.get("accept-language")
    if user is None:
        return choose(None, accept)
    return choose(user.language, accept, user.site_language)


async def _language(request: Request, user: CurrentUser) -> str:
    return request_language(request, user)


async def _stream_language(request: Request, user: StreamUser) -> str:
    return request_language(request, user)


#: A route's caller's language (resolves the caller once, with the route's own user dependency).
Language = Annotated[str, Depends(_language)]
StreamLanguage = Annotated[str, Depends(_stream_language)]
