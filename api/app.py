"""create_app(settings): the FastAPI application. Its lifespan opens the connection pools and
the alert feed; routers are mounted under /api/v1, with /healthz, /metrics, /docs and the
dashboard's pages beside them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from api import docs_page, errors
from api.auth.authcache import AuthCache
from api.auth.hash_slots import HashSlots
from api.feed import AlertFeed
from api.metrics import MetricsMiddleware
from api.pages import router as pages
from api.readcache import ReadCache
from api.resources import Resources
from api.routes import (
    accounts,
    alerts,
    buildings,
    device_facts,
    devices,
    events,
    households,
    people,
    rejects,
    rules,
    session,
    sites,
    stream,
    system,
)
from api.services import RuleService
from api.settings import ApiSettings
from store.pool import async_pool, sync_pool
from store.settings import StoreSettings

API_PREFIX = "/api/v1"

_DESCRIPTION = """
Courtyard's HTTP API: the device registry, readings and chart aggregates, events, alerts and
the actions on them, rule definitions, rejected messages, and a live stream of alert changes.

Authenticate with `Authorization: Bearer <token>` (`courtyard tokens create`) or the
dashboard's session cookie. What a caller sees follows their role: managers their sites,
volunteers their households' care alerts, operators the registry and rules. Errors are
`{"error": {"code", "message", "fields"}}`.
"""


def create_app(
    api: ApiSettings, store: StoreSettings, *, rule_service: RuleService | None = None
) -> FastAPI:
    """The application. Nothing is opened until its lifespan starts (uvicorn, or TestClient
    used as a context manager)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Resources]]:
        name = f"{store.application_name}-api"
        # Each pool pings a connection as it hands it out and waits at most
        # store.pool_timeout_s: a database that is down or frozen makes a request 503, not hang.
        pool = async_pool(
            store, name, min_size=api.pool_min_size, max_size=api.pool_max_size, autocommit=True
        )
        action_pool = sync_pool(
            store,
            f"{name}-actions",
            min_size=1,
            max_size=api.action_pool_max_size,
            application_name=name,  # `courtyard status` counts both pools' sessions as the API's
        )
        # Not waiting: the API starts while the database is down and /healthz says so.
        await pool.open(wait=False)
        action_pool.open(wait=False)
        auth_cache = AuthCache(api.auth_cache_s)
        feed = AlertFeed(store, pool, api.stream_queue_size, on_access_change=auth_cache.clear)
        await feed.start()
        try:
            yield {
                "resources": Resources(
                    settings=api,
                    pool=pool,
                    action_pool=action_pool,
                    feed=feed,
                    rule_service=rule_service,
                    auth_cache=auth_cache,
                    read_cache=ReadCache(api.read_cache_s),
                    hash_slots=HashSlots(api.login_max_concurrent_hashes, api.login_hash_wait_s),
                )
            }
        finally:
            await feed.stop()
            await run_in_threadpool(action_pool.close)
            await pool.close()

    app = FastAPI(
        title="Courtyard",
        version="1",
        description=_DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # api.docs_page: Swagger UI without a CDN
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    v1 = APIRouter(prefix=API_PREFIX)
    for module in (
        device_facts,  # before devices: /devices/kinds is not a device id
        devices,
        events,
        alerts,
        stream,
        rules,
        rejects,
        sites,
        buildings,
        households,
        people,
        session,
        accounts,
    ):
        v1.include_router(module.router)
    app.include_router(v1)
    app.include_router(system.router)
    app.include_router(docs_page.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    errors.install(app)
    pages.install(app)  # browsers get the dashboard's error pages, API clients keep JSON
    app.add_middleware(MetricsMiddleware)
    return app
