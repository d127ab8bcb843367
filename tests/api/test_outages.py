"""The API through database outages, on a PostgreSQL server of its own: stopped and started
again, and frozen (SIGSTOP: its sockets stay open and nothing answers). While the database is
gone, requests are answered 503 `database_unavailable` rather than left hanging, /healthz says
so; once it is back, both recover without waiting out a reconnection backoff."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from api import cli as api_cli
from api.app import create_app
from api.settings import ApiSettings
from courtyard.embedded import EmbeddedPostgres
from store.access.users import NewUser
from store.places import provisioning
from store.settings import StoreSettings
from tests.api.live import serve_in_thread
from tests.support.outages import OUTAGE_S, migrated_database, own_postgres, signal_server
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

SITE = "outage-court"
#: A client gives up on an answer after this long: a hang is a failure, a 503 an answer.
CLIENT_TIMEOUT_S = 10.0


@pytest.fixture
def own_server(server_dir: Path) -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL server for this test alone: stopping or freezing it disturbs nobody."""
    with own_postgres(server_dir) as server:
        yield server


@pytest.fixture
def store(own_server: EmbeddedPostgres) -> StoreSettings:
    url = migrated_database(own_server)
    with psycopg.connect(url) as conn:
        provisioning.upsert_site(conn, SITE, "Outage Court", "UTC")
    return StoreSettings(url=url)


@pytest.fixture
def api(store: StoreSettings) -> Iterator[httpx.Client]:
    api_cli.add_user(store, NewUser(user_id="mgr", name="Manager", role="manager", sites=[SITE]))
    token, _info = api_cli.create_token(store, user_id="mgr", name="test", days=1)
    settings = ApiSettings(pool_min_size=2, pool_max_size=4, auth_cache_s=0)
    app = create_app(settings, store)
    with (
        serve_in_thread(app) as base_url,
        httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=CLIENT_TIMEOUT_S,
        ) as client,
    ):
        wait_for(lambda: healthy(client), timeout_s=30, what="a healthy API")
        yield client


def healthy(client: httpx.Client) -> bool:
    try:
        return client.get("/healthz").status_code == 200
    except httpx.TimeoutException:
        return False


def alerts_status(client: httpx.Client) -> int:
    try:
        return client.get("/api/v1/alerts").status_code
    except httpx.TimeoutException:
        return 0


def assert_answered_unavailable(client: httpx.Client) -> None:
    """An API request and /healthz each get a 503 before the client's timeout."""
    response = client.get("/api/v1/alerts")
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "database_unavailable"
    assert response.headers["retry-after"]
    health = client.get("/healthz")
    assert health.status_code == 503, health.text
    assert health.json()["database"]["ok"] is False


def assert_recovers(client: httpx.Client) -> None:
    """Health and requests are back within a few seconds of the database's return."""
    wait_for(lambda: healthy(client), timeout_s=8, interval_s=0.25, what="/healthz back to 200")
    wait_for(lambda: alerts_status(client) == 200, timeout_s=4, interval_s=0.25, what="alerts 200")


def test_a_stopped_database_gets_503_and_its_restart_is_seen_within_seconds(
    api: httpx.Client, own_server: EmbeddedPostgres
) -> None:
    assert api.get("/api/v1/alerts").status_code == 200
    own_server.stop()
    assert_answered_unavailable(api)
    # Requests keep arriving during the outage (a dashboard polling): each one must still be
    # answered, and none may push the pool's reconnection far into the future.
    _poll_during(api, OUTAGE_S)
    own_server.start()
    assert_recovers(api)


def test_a_frozen_database_gets_503_within_seconds_and_recovers_when_it_thaws(
    api: httpx.Client, own_server: EmbeddedPostgres
) -> None:
    assert api.get("/api/v1/alerts").status_code == 200
    signal_server(own_server, signal.SIGSTOP)
    try:
        assert_answered_unavailable(api)
        assert_answered_unavailable(api)  # the pool's connections are no better the second time
    finally:
        signal_server(own_server, signal.SIGCONT)
    assert_recovers(api)


def _poll_during(client: httpx.Client, seconds: float) -> None:
    """Ask every two seconds for `seconds`, requiring a 503 answer each time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert alerts_status(client) == 503
        time.sleep(2)
