"""/docs with no internet: every request that would leave the machine fails, and Swagger UI
still renders every operation of the API (its files come from the app, not a CDN)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Route, expect

from api.app import create_app
from api.settings import ApiSettings
from store.settings import StoreSettings
from tests.api.live import serve_in_thread
from tests.browser.conftest import Screenshot
from tests.browser.dashboard import watch_errors

_LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@pytest.fixture
def api_base(database_url: str) -> Iterator[str]:
    settings = ApiSettings(pool_min_size=1, pool_max_size=2)
    with serve_in_thread(create_app(settings, StoreSettings(url=database_url))) as base:
        yield base


def test_docs_renders_every_operation_with_no_request_leaving_the_machine(
    browser: Browser, api_base: str, screenshot: Screenshot
) -> None:
    schema = httpx.get(f"{api_base}/openapi.json", timeout=30).json()
    operations = sum(
        1
        for path in schema["paths"].values()
        for method in path
        if method in {"get", "put", "post", "delete", "patch", "head", "options"}
    )
    page = browser.new_page()
    refused: list[str] = []

    def offline(route: Route) -> None:
        if urlsplit(route.request.url).hostname in _LOCAL_HOSTS:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort("internetdisconnected")

    page.route("**/*", offline)
    errors = watch_errors(page)
    page.goto(f"{api_base}/docs")
    expect(page.locator(".opblock")).to_have_count(operations)
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/alerts").first).to_be_visible()
    expect(page.locator(".info .title")).to_contain_text("Courtyard")
    screenshot(page, "docs")
    assert refused == []
    assert errors == []
    page.close()
