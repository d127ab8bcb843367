"""Login throttling on POST /api/v1/session: growing lockouts by account and by client address
(the right password refused too), a bound on password hashes checked at once, and the audit."""

from __future__ import annotations

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.resources import Resources
from api.settings import ApiSettings
from tests.api.world import PASSWORD, World

#: Long enough that no lockout ends while a test runs; tests end them by hand.
LOCKOUT_S = 600.0


@pytest.fixture
def api_settings(api_settings: ApiSettings, request: pytest.FixtureRequest) -> ApiSettings:
    """Lockouts after 2 failures of an account, 3 from an address; a test may change these."""
    update: dict[str, object] = {
        "login_account_lockout_after": 2,
        "login_client_lockout_after": 3,
        "login_lockout_s": LOCKOUT_S,
        "login_lockout_max_s": 4 * LOCKOUT_S,
        "login_forget_s": 10 * LOCKOUT_S,
    }
    update.update(getattr(request, "param", {}))
    return ApiSettings.model_validate(api_settings.model_dump() | update)


def log_in(client: TestClient, user_id: str, password: str) -> tuple[int, str, str | None]:
    """(status, error code or "", Retry-After) of one login."""
    response = client.post("/api/v1/session", json={"user_id": user_id, "password": password})
    code = "" if response.status_code == 200 else response.json()["error"]["code"]
    return response.status_code, code, response.headers.get("Retry-After")


def end_lockouts(url: str) -> None:
    """As if the lockouts had run out (the counts stay)."""
    with psycopg.connect(url) as conn:
        conn.execute("UPDATE login_throttle SET locked_until = now() - interval '1 second'")


def test_a_locked_out_account_refuses_the_right_password_too(
    world: World, client: TestClient
) -> None:
    assert log_in(client, "manager", "nope")[:2] == (401, "login_failed")
    assert log_in(client, "manager", "nope again")[:2] == (401, "login_failed")

    status, code, retry_after = log_in(client, "manager", PASSWORD)
    assert (status, code) == (429, "login_throttled")
    assert retry_after is not None and 0 < int(retry_after) <= LOCKOUT_S
    assert client.get("/api/v1/me").status_code == 401  # no session came of it


@pytest.mark.parametrize("api_settings", [{"login_client_lockout_after": 10}], indirect=True)
def test_lockouts_grow_and_the_right_password_starts_the_account_over(
    world: World, client: TestClient
) -> None:
    # One failure, then success: the account's count starts over, twice in a row.
    for _ in range(2):
        assert log_in(client, "admin", "nope")[0] == 401
        assert log_in(client, "admin", PASSWORD)[0] == 200

    assert [log_in(client, "manager", "nope")[0] for _ in range(2)] == [401, 401]
    first = log_in(client, "manager", "nope")
    assert first[0] == 429 and first[2] is not None and int(first[2]) <= LOCKOUT_S
    end_lockouts(world.url)
    assert log_in(client, "manager", "nope")[0] == 401  # the third failure: twice as long
    second = log_in(client, "manager", PASSWORD)
    assert second[0] == 429 and second[2] is not None
    assert LOCKOUT_S < int(second[2]) <= 2 * LOCKOUT_S
    end_lockouts(world.url)
    assert log_in(client, "manager", PASSWORD)[0] == 200


@pytest.mark.parametrize(
    "api_settings",
    [{"login_account_lockout_after": 10, "login_client_lockout_after": 3}],
    indirect=True,
)
def test_one_address_trying_many_accounts_is_locked_out(world: World, client: TestClient) -> None:
    for user_id in ("admin", "volunteer", "no-such-user"):
        assert log_in(client, user_id, "nope")[0] == 401
    status, code, retry_after = log_in(client, "manager", PASSWORD)
    assert (status, code) == (429, "login_throttled") and retry_after is not None


@pytest.mark.parametrize(
    "api_settings",
    [
        {
            "login_account_lockout_after": 1,
            "login_max_concurrent_hashes": 1,
            "login_hash_wait_s": 0.05,
        }
    ],
    indirect=True,
)
def test_logins_are_refused_at_once_while_every_hash_slot_is_taken(
    world: World, client: TestClient
) -> None:
    assert client.portal is not None
    resources: Resources = client.app_state["resources"]
    client.portal.call(resources.hash_slots.acquire)
    try:
        status, code, retry_after = log_in(client, "manager", PASSWORD)
    finally:
        client.portal.call(resources.hash_slots.release)
    assert (status, code, retry_after) == (503, "login_busy", "1")
    # The busy attempt was not counted: with a lockout after one failure, it would be locked.
    assert log_in(client, "manager", PASSWORD)[0] == 200


def test_failed_and_refused_logins_are_audited(world: World, client: TestClient) -> None:
    for _ in range(3):
        log_in(client, "manager", "nope")
    with psycopg.connect(world.url) as conn:
        rows = conn.execute(
            "SELECT actor, target, details->>'reason', details->>'client' FROM audit_log"
            " WHERE action = 'session.login_failed' ORDER BY id"
        ).fetchall()
    assert rows == [
        ("anonymous", "user:manager", "wrong", "testclient"),
        ("anonymous", "user:manager", "wrong", "testclient"),
        ("anonymous", "user:manager", "throttled", "testclient"),
    ]
