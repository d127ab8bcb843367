"""/healthz (database and broker) and /metrics (Prometheus): for probes, no authentication."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from pydantic import Field

from api import health
from api.deps import Res
from api.schemas.common import Model

router = APIRouter(tags=["system"])


class CheckPublic(Model):
    ok: bool
    detail: str


class Health(Model):
    status: Literal["ok", "failing"]
    database: CheckPublic
    broker: CheckPublic
    stream: CheckPublic = Field(description="Listening for alert changes (feeds SSE).")


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": Health, "description": "A check failed."}},
)
async def healthz(res: Res) -> JSONResponse:
    """Whether the database answers a query, the broker accepts an MQTT connection, and this
    process listens for alert changes."""
    timeout = res.settings.health_timeout_s
    db, broker = await asyncio.gather(
        health.database(res.pool, timeout), health.broker(res.settings.mqtt_url, timeout)
    )
    listening = res.feed.listening.is_set()
    ok = db.ok and broker.ok and listening
    body = Health(
        status="ok" if ok else "failing",
        database=CheckPublic(ok=db.ok, detail=db.detail),
        broker=CheckPublic(ok=broker.ok, detail=broker.detail),
        stream=CheckPublic(ok=listening, detail="listening" if listening else "reconnecting"),
    )
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
