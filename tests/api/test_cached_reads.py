"""Chart aggregates and site overviews come from the read cache with the access check inside it:
an answer cached for one caller is never handed to a caller who may not see it."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.api.conftest import bearer
from tests.api.world import NOW, World


def test_a_cached_chart_is_not_shown_to_a_caller_who_may_not_see_the_device(
    world: World, client: TestClient
) -> None:
    beta = world.places["beta"]
    start, end = NOW - timedelta(days=2), NOW
    path = (
        f"/api/v1/devices/{beta.device_id}/aggregates?metric=level_pct&bucket_s=3600"
        f"&start={start:%Y-%m-%dT%H:%M:%SZ}&end={end:%Y-%m-%dT%H:%M:%SZ}"
    )
    admin = client.get(path, headers=bearer(world.tokens["admin"]))
    assert admin.status_code == 200, admin.text
    assert admin.json()["site_id"] == "beta"
    # The same question within read_cache_s, from a manager of alpha only.
    assert client.get(path, headers=bearer(world.tokens["manager"])).status_code == 404
    assert client.get(path, headers=bearer(world.tokens["admin"])).json() == admin.json()


def test_a_cached_overview_is_not_shown_to_a_caller_who_may_not_see_the_site(
    world: World, client: TestClient
) -> None:
    path = "/api/v1/sites/beta/overview"
    admin = client.get(path, headers=bearer(world.tokens["admin"]))
    assert admin.status_code == 200, admin.text
    assert admin.json()["site_id"] == "beta"
    assert client.get(path, headers=bearer(world.tokens["manager"])).status_code == 404
    mine = client.get("/api/v1/sites/alpha/overview", headers=bearer(world.tokens["manager"]))
    assert mine.status_code == 200
    assert mine.json()["site_id"] == "alpha"


def test_an_unknown_site_or_device_is_not_cached_as_found(world: World, client: TestClient) -> None:
    admin = bearer(world.tokens["admin"])
    assert client.get("/api/v1/sites/nowhere/overview", headers=admin).status_code == 404
    assert client.get("/api/v1/sites/nowhere/overview", headers=admin).status_code == 404
    missing = "/api/v1/devices/987654/aggregates?metric=level_pct"
    assert client.get(missing, headers=admin).status_code == 404
