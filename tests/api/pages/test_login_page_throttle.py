"""The login form is throttled as the JSON API is: the same counts, a page that says so."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.settings import ApiSettings
from tests.api.pages.browser_session import PASSWORD, login_token
from tests.api.world import World


@pytest.fixture
def api_settings(api_settings: ApiSettings) -> ApiSettings:
    return ApiSettings.model_validate(
        api_settings.model_dump() | {"login_account_lockout_after": 2, "login_lockout_s": 600}
    )


def post_login(client: TestClient, password: str) -> tuple[int, str, str | None]:
    response = client.post(
        "/login",
        data={
            "user_id": "manager",
            "password": password,
            "login_token": login_token(client),
            "next": "/",
        },
        follow_redirects=False,
    )
    return response.status_code, response.text, response.headers.get("Retry-After")


def test_a_locked_out_account_cannot_log_in_through_the_form(
    world: World, client: TestClient
) -> None:
    assert post_login(client, "nope")[0] == 401
    assert post_login(client, "nope again")[0] == 401

    status, page, retry_after = post_login(client, PASSWORD)
    assert status == 429 and retry_after is not None and 0 < int(retry_after) <= 600
    assert "Too many failed logins" in page
    assert "courtyard_session" not in client.cookies
    # The same lockout holds on the JSON API.
    api = client.post("/api/v1/session", json={"user_id": "manager", "password": PASSWORD})
    assert api.status_code == 429
