"""/docs: Swagger UI served from this process, so it works with no internet.

FastAPI's own /docs loads Swagger UI from a CDN: behind a firewall, or where the CDN is blocked,
it is a blank page. The fastapi-swagger wheel (pinned in pyproject) ships Swagger UI's bundle
and stylesheet; /docs points at them here, and at the dashboard's favicon.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

DOCS_PATH = "/docs"
#: Swagger UI's files as the fastapi-swagger wheel ships them (its `resources` package).
ASSETS_DIR = Path(str(resources.files("fastapi_swagger.resources")))
SCRIPT = "swagger-ui-bundle.js"
STYLESHEET = "swagger-ui.css"

router = APIRouter(include_in_schema=False)


@router.get(DOCS_PATH, response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{root}{DOCS_PATH}/{SCRIPT}",
        swagger_css_url=f"{root}{DOCS_PATH}/{STYLESHEET}",
        swagger_favicon_url=f"{root}/static/favicon.svg",
        # Swagger UI would otherwise ask validator.swagger.io to check the schema.
        swagger_ui_parameters={"validatorUrl": None},
    )


@router.get(f"{DOCS_PATH}/{SCRIPT}")
async def swagger_ui_script() -> FileResponse:
    return FileResponse(ASSETS_DIR / SCRIPT, media_type="text/javascript")


@router.get(f"{DOCS_PATH}/{STYLESHEET}")
async def swagger_ui_stylesheet() -> FileResponse:
    return FileResponse(ASSETS_DIR / STYLESHEET, media_type="text/css")
