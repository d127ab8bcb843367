"""Browser tests: Debian's chromium driven by Playwright's sync API (never a downloaded browser),
against the app on a real uvicorn server on a free loopback port and the test's database.

Screenshots go to $COURTYARD_TEST_ARTIFACTS (default tests/browser/artifacts/, gitignored);
each path is printed as it is saved.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from api.app import create_app
from api.settings import ApiSettings
from store.settings import StoreSettings
from tests.api import world as world_module
from tests.api.live import serve_in_thread
from tests.api.world import World
from tests.browser.dashboard import EXPECT_TIMEOUT_MS

ARTIFACTS_ENV = "COURTYARD_TEST_ARTIFACTS"
DEFAULT_ARTIFACTS = Path(__file__).parent / "artifacts"
Screenshot = Callable[[Page, str], Path]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Per module, not per session: while Playwright's sync API runs, an event loop (on
    greenlets) runs on the main thread, and every later test that calls asyncio.run() or
    parses Python would meet it."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip(
            "no `chromium` on the PATH (Debian: apt-get install chromium); the browser tests "
            "drive the machine's chromium and never download one"
        )
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]) -> Screenshot:
    directory = Path(os.environ.get(ARTIFACTS_ENV) or DEFAULT_ARTIFACTS)
    directory.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)

    def shoot(page: Page, name: str) -> Path:
        path = directory / f"{test}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        with capsys.disabled():
            sys.stdout.write(f"\nscreenshot: {path}\n")
        return path

    return shoot


@pytest.fixture
def browser_world(database_url: str) -> World:
    """The API tests' two-site world, its people reading English. Built on a thread of its
    own: Playwright's sync API keeps an event loop running on this one, and building the
    world's users runs one of its own (asyncio.run)."""
    with ThreadPoolExecutor(1) as worker:
        world = worker.submit(world_module.build, database_url).result()
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE people SET language = 'en'")
    return world


@pytest.fixture
def live_app(database_url: str, browser_world: World) -> Iterator[str]:
    """The app on uvicorn (lifespan, pools and the alert feed included); yields its base URL.
    The session cookie keeps its Secure flag: browsers accept it over http://127.0.0.1."""
    settings = ApiSettings(pool_min_size=1, pool_max_size=4, auth_cache_s=0)
    with serve_in_thread(create_app(settings, StoreSettings(url=database_url))) as base:
        yield base
