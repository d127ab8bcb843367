"""Schemathesis against the live OpenAPI schema, as an admin: no 5xx, and every answer matches
the schema (status codes, content types, bodies). Bounded: 20 examples per route.

The SSE stream never ends, so it is left to tests/api/test_stream.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.settings import ApiSettings
from store.settings import StoreSettings
from tests.api.conftest import bearer
from tests.api.live import serve_in_thread
from tests.api.rule_service import ThresholdRuleService
from tests.api.world import World
from tests.support.waiting import wait_for

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def live_url(database_url: str, api_settings: ApiSettings, world: World) -> Iterator[str]:
    app = create_app(
        api_settings,
        StoreSettings(url=database_url),
        rule_service=ThresholdRuleService(database_url),
    )
    with serve_in_thread(app) as url:
        # /healthz is in the schema: start once it is green (the alert feed is listening).
        wait_for(
            lambda: httpx.get(f"{url}/healthz").status_code == 200, timeout_s=30, what="healthz"
        )
        yield url


@pytest.fixture
def live_schema(live_url: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{live_url}/openapi.json")


schema = schemathesis.pytest.from_fixture("live_schema")


@schema.exclude(path="/api/v1/stream").parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms(case: schemathesis.Case, live_url: str, world: World) -> None:
    case.call_and_validate(base_url=live_url, headers=bearer(world.tokens["admin"]), checks=CHECKS)
