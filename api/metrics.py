"""The API's Prometheus metrics, and the middleware that counts requests by route."""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "courtyard_api_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "courtyard_api_request_duration_seconds",
    "Time to answer an HTTP request (to the start of the answer for streams), by route.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
STREAM_SUBSCRIBERS = Gauge(
    "courtyard_api_stream_subscribers", "SSE clients connected to this process."
)
STREAM_CHANGES = Counter(
    "courtyard_api_stream_changes", "Alert changes this process heard from the database."
)
CONTACT_READS = Counter(
    "courtyard_api_contact_reads", "Reads of residents' contact details (each also audited)."
)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_timed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                route = _route(scope)
                LATENCY.labels(route).observe(time.perf_counter() - started)
                REQUESTS.labels(scope["method"], route, str(status)).inc()
            await send(message)

        await self.app(scope, receive, send_timed)


def _route(scope: Scope) -> str:
    # The template, not the path: label values must stay few.
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"
