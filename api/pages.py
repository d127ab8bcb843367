"""Where the dashboard's server-rendered pages go: a router with no OpenAPI entries, the
Jinja2 templates of api/templates and the static files of api/static (served locally: the
platform works offline).

Pages authenticate with the session cookie (`api.deps.CurrentUser` accepts it) and log in and
out through `api.sessions`; forms that change something carry `csrf_token`.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.templating import Jinja2Templates

HERE = Path(__file__).parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"

templates = Jinja2Templates(directory=TEMPLATES_DIR)
router = APIRouter(include_in_schema=False)
