"""Admins manage users and tokens through the API: list them, revoke a token, deactivate a user,
reset a password. Nobody else gets there (not even an admin token narrowed to other scopes);
each change works at once and is audited with the admin as actor."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from api import cli
from api.app import create_app
from api.settings import ApiSettings
from store.settings import StoreSettings
from tests.api.conftest import bearer
from tests.api.rule_service import ThresholdRuleService
from tests.api.world import PASSWORD, World
from tests.support.waiting import wait_for

V = "/api/v1"
NEW_PASSWORD = "a much longer passphrase"


def account_audit(url: str) -> list[tuple[str, str, str]]:
    """(actor, action, target) of every token revocation, deactivation and password reset."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT actor, action, target FROM audit_log"
            " WHERE action IN ('token.revoke', 'user.deactivate', 'user.reset_password')"
            " ORDER BY id"
        ).fetchall()
    return [(str(a), str(b), str(c)) for a, b, c in rows]


def _token_id(url: str, user_id: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT max(id) FROM api_tokens WHERE user_id = %s", (user_id,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def _log_in(client: TestClient, user_id: str, password: str = PASSWORD) -> int:
    return client.post(f"{V}/session", json={"user_id": user_id, "password": password}).status_code


def test_only_admins_manage_accounts(world: World, client: TestClient) -> None:
    store = StoreSettings(url=world.url)
    narrowed, _ = cli.create_token(
        store, user_id="admin", name="alerts only", days=1, scopes=["alerts:read"]
    )
    # An integration user cannot name the permission into its token either.
    integration, _ = cli.create_token(
        store, user_id="integration", name="greedy", days=1, scopes=["accounts:admin"]
    )
    token_id = _token_id(world.url, "manager")
    requests = [
        ("GET", f"{V}/users", None),
        ("POST", f"{V}/users/operator/deactivate", None),
        ("PUT", f"{V}/users/operator/password", {"password": NEW_PASSWORD}),
        ("GET", f"{V}/tokens", None),
        ("DELETE", f"{V}/tokens/{token_id}", None),
    ]
    callers = [world.tokens[u] for u in ("manager", "volunteer", "operator", "integration")]
    for token in [*callers, narrowed, integration]:
        for method, url, body in requests:
            response = client.request(method, url, json=body, headers=bearer(token))
            assert response.status_code == 403, (method, url, response.text)
    assert account_audit(world.url) == []
    assert client.get(f"{V}/me", headers=bearer(world.tokens["manager"])).status_code == 200
    assert _log_in(client, "operator") == 200


def test_an_admin_lists_users_and_tokens_without_secrets(world: World, client: TestClient) -> None:
    admin = bearer(world.tokens["admin"])
    users = client.get(f"{V}/users", headers=admin)
    assert users.status_code == 200, users.text
    by_id = {u["id"]: u for u in users.json()}
    assert by_id["manager"]["sites"] == ["alpha"] and by_id["manager"]["active"] is True
    assert "password" not in users.text and "argon2" not in users.text

    tokens = client.get(f"{V}/tokens", params={"user": "manager"}, headers=admin)
    assert tokens.status_code == 200, tokens.text
    assert [t["user_id"] for t in tokens.json()] == ["manager"]
    assert world.tokens["manager"] not in tokens.text and "hash" not in tokens.text
    everyone = client.get(f"{V}/tokens", headers=admin).json()
    assert {t["user_id"] for t in everyone} == set(world.tokens)


def test_an_admin_revokes_a_token_at_once(world: World, client: TestClient) -> None:
    admin = bearer(world.tokens["admin"])
    token_id = _token_id(world.url, "manager")
    assert client.delete(f"{V}/tokens/{token_id}", headers=admin).status_code == 204
    assert client.get(f"{V}/me", headers=bearer(world.tokens["manager"])).status_code == 401
    # Again: nothing changes; an unknown token is not found.
    assert client.delete(f"{V}/tokens/{token_id}", headers=admin).status_code == 204
    assert client.delete(f"{V}/tokens/999999", headers=admin).status_code == 404
    assert account_audit(world.url) == [("user:admin", "token.revoke", f"token:{token_id}")]
    listed = client.get(f"{V}/tokens", params={"user": "manager"}, headers=admin).json()
    assert listed[0]["revoked_at"] is not None


def test_a_deactivated_user_is_locked_out_at_once(world: World, client: TestClient) -> None:
    admin = bearer(world.tokens["admin"])
    session = client  # its cookie: requests without a bearer token use the session
    assert _log_in(session, "manager") == 200
    assert session.get(f"{V}/me").status_code == 200

    deactivated = client.post(f"{V}/users/manager/deactivate", headers=admin)
    assert deactivated.status_code == 200, deactivated.text
    assert deactivated.json()["active"] is False
    assert client.get(f"{V}/me", headers=bearer(world.tokens["manager"])).status_code == 401
    assert session.get(f"{V}/me").status_code == 401
    assert _log_in(client, "manager") == 401
    assert client.post(f"{V}/users/nobody/deactivate", headers=admin).status_code == 404
    # An admin does not lock themselves out.
    assert client.post(f"{V}/users/admin/deactivate", headers=admin).status_code == 422
    assert account_audit(world.url) == [("user:admin", "user.deactivate", "user:manager")]


def test_an_admin_resets_a_password(world: World, client: TestClient) -> None:
    admin = bearer(world.tokens["admin"])
    session = client  # its cookie: requests without a bearer token use the session
    assert _log_in(session, "volunteer") == 200
    url = f"{V}/users/volunteer/password"
    short = client.put(url, json={"password": "short"}, headers=admin)
    assert short.status_code == 422, short.text
    assert client.put(url, json={"password": NEW_PASSWORD}, headers=admin).status_code == 204
    # Whoever held a session with the old password holds it no more; the new one works.
    assert session.get(f"{V}/me").status_code == 401
    assert _log_in(client, "volunteer") == 401
    assert _log_in(client, "volunteer", NEW_PASSWORD) == 200
    missing = client.put(
        f"{V}/users/nobody/password", json={"password": NEW_PASSWORD}, headers=admin
    )
    assert missing.status_code == 404
    assert account_audit(world.url) == [("user:admin", "user.reset_password", "user:volunteer")]


@pytest.fixture
def cached_client(database_url: str, api_settings: ApiSettings) -> Iterator[TestClient]:
    """The API with its token cache on, as in production."""
    settings = api_settings.model_copy(update={"auth_cache_s": 10.0})
    app = create_app(
        settings, StoreSettings(url=database_url), rule_service=ThresholdRuleService(database_url)
    )
    with TestClient(app, base_url="https://testserver") as test_client:
        yield test_client


def test_revocations_reach_the_token_cache(world: World, cached_client: TestClient) -> None:
    """A cached token stops working when it is revoked elsewhere (the command line, another API
    process) well before its cache entry would expire."""
    client = cached_client
    store = StoreSettings(url=world.url)
    manager = bearer(world.tokens["manager"])
    operator = bearer(world.tokens["operator"])
    for headers in (manager, operator):
        assert client.get(f"{V}/me", headers=headers).status_code == 200  # cached now

    assert cli.revoke_token(store, _token_id(world.url, "manager"))
    wait_for(
        lambda: client.get(f"{V}/me", headers=manager).status_code == 401,
        timeout_s=5,
        what="the revoked token to be refused",
    )
    assert cli.deactivate_user(store, "operator") is not None
    wait_for(
        lambda: client.get(f"{V}/me", headers=operator).status_code == 401,
        timeout_s=5,
        what="the deactivated user's token to be refused",
    )


def test_the_token_cache_lives_seconds_at_most() -> None:
    with pytest.raises(ValueError, match="auth_cache_s"):
        ApiSettings(auth_cache_s=3600)
