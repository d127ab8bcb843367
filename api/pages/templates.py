"""The dashboard's Jinja2 environment: api/templates with the i18n extension, the filters every
page formats with (times in a site's zone, alert summaries, numbers), and `render`.

Translation (api.pages.language): `_()` / `{% trans %}` (jinja2.ext.i18n, newstyle, so
placeholders are named: `_("%(count)s alerts", count=n)`, and trimmed) and the `localtime`,
`number` and `summary` filters answer in the language `render` negotiates for each request
(the user's setting, else Accept-Language, else their site's default). An alert's summary is a
gettext msgid with `str.format` placeholders: it goes through `summary`, never `_()`, whose
newstyle `%`-formatting would break on a literal percent sign in a summary.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from api.auth.principals import Principal
from api.language import request_language
from api.pages import language as pages_language
from api.pages.access import sections

HERE = Path(__file__).parent.parent  # api/: the templates and static files are beside the pages
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Translations and formatting in the language of each render (api.pages.language).
    env.policies["ext.i18n.trimmed"] = True
    pages_language.install(env)
    #: The page's language (`<html lang>`); `render` sets it per request.
    env.globals["html_lang"] = "en"
    return env


templates = Jinja2Templates(env=_environment())

#: Pages load scripts, styles and data from here only (no inline script: an injected one would
#: not run), are never framed (one-tap buttons must not be clickjacked) and post only here.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def render(
    request: Request,
    name: str,
    user: Principal | None,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> Response:
    """A page: `name` with `context`, the caller (for the navigation and the CSRF token of its
    forms) and the request. Pages are per user and change with every alert: never cached."""
    values: dict[str, Any] = {
        "user": user,
        "csrf_token": user.csrf_token if user is not None else None,
        "sections": sections(user) if user is not None else [],
        **(context or {}),
    }
    language = request_language(request, user)
    values.setdefault("html_lang", language)
    # Starlette renders the template right here, while the page's language is set.
    with pages_language.speaking(language):
        return templates.TemplateResponse(
            request,
            name,
            values,
            status_code=status_code,
            headers={
                "Cache-Control": "no-store",
                "Content-Language": language,
                **SECURITY_HEADERS,
            },
        )
