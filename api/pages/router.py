"""The dashboard's server-rendered pages: one router outside the OpenAPI schema, gathering the
page modules, with the Jinja2 templates of api/templates and the static files of api/static
(served locally, the charting library included: the platform works offline).

Pages authenticate with the session cookie (`api.deps.CurrentUser` accepts it), read through the
same store queries and Visibility as the JSON API, and answer in HTML (`api.pages.routing`).
Forms that change something carry the session's `csrf_token`.

    /                 the landing page: each role's home
    /login, /logout   the session
    POST /language    the reader's language (the switch in every page's header)
    /sites, /sites/{site}, /sites/{site}/live             managers: overviews (live)
    /devices/{device}                                     a device and its chart
    /sites/{site}/devices                                 a site's devices: search, filters
    /devices/{device}/edit, /households/{site}/{household}/setup   managers set what devices are
    /alerts, /alerts/rows, /alerts/export.csv            the alert table (live), its CSV
    POST /alerts/bulk                                     acknowledge / resolve selected rows
    /alerts/{alert}, POST /alerts/{alert}/...             an alert, its history and actions
    /rejects                                              rejected messages
    /my, /my/live, /households/{site}/{household}         volunteers (phone first)
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from api.pages import (
    actions,
    alerts,
    auth,
    device_list,
    device_setup,
    devices,
    language_choice,
    rejects,
    sites,
    volunteer,
)
from api.pages.routing import not_found
from api.pages.templates import STATIC_DIR, TEMPLATES_DIR, templates

__all__ = ["STATIC_DIR", "TEMPLATES_DIR", "install", "router", "templates"]

router = APIRouter(include_in_schema=False)
for _module in (
    auth,
    language_choice,
    sites,
    device_list,
    devices,
    device_setup,
    alerts,
    actions,
    rejects,
    volunteer,
):
    router.include_router(_module.router)


def install(app: FastAPI) -> None:
    """Addresses that match no route answer a browser with the not-found page (API clients
    keep their JSON). Call after `api.errors.install`."""
    app.add_exception_handler(404, not_found)
