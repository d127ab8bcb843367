"""Saving a person's channels through the API refuses webhook and Apprise URLs aimed inside the
network (SSRF), by address or by a name resolving there, unless the operator allows them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.settings import ApiSettings
from tests.api.conftest import bearer
from tests.api.world import World

REFUSED = {
    "webhook-loopback": {"webhook": "http://127.0.0.1:8080/hook"},
    "webhook-name-of-loopback": {"webhook": {"url": "http://localhost/hook", "secret": "s"}},
    "webhook-metadata": {"webhook": "http://169.254.169.254/latest/meta-data/"},
    "webhook-mapped-v6": {"webhook": "http://[::ffff:10.0.0.1]/hook"},
    "apprise-private": {"apprise": ["json://192.168.1.10/x"]},
    "apprise-mail-relay": {"apprise": "mailto://u:p@example.com?smtp=localhost&to=a@b.c"},
}


def person(channels: dict[str, object]) -> dict[str, object]:
    return {"name": "New Volunteer", "kind": "volunteer", "channels": channels}


@pytest.mark.parametrize("channels", REFUSED.values(), ids=REFUSED.keys())
def test_a_channel_aimed_inside_the_network_is_refused(
    world: World, client: TestClient, channels: dict[str, object]
) -> None:
    admin = bearer(world.tokens["admin"])
    created = client.post("/api/v1/people", json=person(channels), headers=admin)
    assert created.status_code == 422, created.text
    [field] = created.json()["error"]["fields"]
    assert field["field"] == "body.channels"
    assert "COURTYARD_NOTIFY__ALLOWED_DESTINATIONS" in field["message"]

    existing = world.places["mine"].person_id
    updated = client.put(f"/api/v1/people/{existing}", json=person(channels), headers=admin)
    assert updated.status_code == 422, updated.text
    after = client.get(f"/api/v1/people/{existing}", headers=admin).json()
    assert after["channels"] != channels


@pytest.fixture
def api_settings(api_settings: ApiSettings, request: pytest.FixtureRequest) -> ApiSettings:
    allowed = getattr(request, "param", "")
    return api_settings.model_copy(update={"notify_allowed_destinations": allowed})


@pytest.mark.parametrize("api_settings", ["localhost, 192.168.1.0/24"], indirect=True)
@pytest.mark.parametrize(
    "channels",
    [
        {"webhook": {"url": "http://localhost/hook", "secret": "s"}},
        {"apprise": ["json://192.168.1.10/x"]},
    ],
)
def test_an_allowed_destination_is_saved(
    world: World, client: TestClient, channels: dict[str, object]
) -> None:
    admin = bearer(world.tokens["admin"])
    created = client.post("/api/v1/people", json=person(channels), headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["channels"] == channels
