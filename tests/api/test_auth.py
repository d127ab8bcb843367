"""Authentication and roles: tokens (hashed, expiring, revocable), dashboard sessions with CSRF,
the audit log of contact reads, and the permissions of operators and integration tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from api import cli
from api.auth.secrets import digest
from store.settings import StoreSettings
from tests.api.conftest import bearer
from tests.api.world import World


def test_tokens_are_stored_hashed_and_expire_and_revoke(world: World, client: TestClient) -> None:
    store = StoreSettings(url=world.url)
    secret, info = cli.create_token(store, user_id="manager", name="short", days=1)
    with psycopg.connect(world.url) as conn:
        stored = conn.execute(
            "SELECT token_hash FROM api_tokens WHERE id = %s", (info.id,)
        ).fetchone()
    assert stored is not None and bytes(stored[0]) == digest(secret)
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200

    with psycopg.connect(world.url) as conn:
        conn.execute(
            "UPDATE api_tokens SET expires_at = %s WHERE id = %s",
            (datetime.now(UTC) - timedelta(seconds=1), info.id),
        )
    expired = client.get("/api/v1/me", headers=bearer(secret))
    assert expired.status_code == 401
    assert expired.headers["WWW-Authenticate"] == "Bearer"

    other, other_info = cli.create_token(store, user_id="manager", name="revoked", days=1)
    assert cli.revoke_token(store, other_info.id)
    assert client.get("/api/v1/me", headers=bearer(other)).status_code == 401


def test_session_login_csrf_and_logout(world: World, client: TestClient) -> None:
    wrong = client.post("/api/v1/session", json={"user_id": "manager", "password": "nope"})
    assert wrong.status_code == 401 and "courtyard_session" not in wrong.cookies

    login = client.post("/api/v1/session", json={"user_id": "manager", "password": "correct horse"})
    assert login.status_code == 200, login.text
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie
    csrf = login.json()["csrf_token"]
    alert = world.places["facility"].alert_id

    assert client.get("/api/v1/alerts").status_code == 200  # reads need no CSRF token
    refused = client.post(f"/api/v1/alerts/{alert}/acknowledge")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"
    forged = client.post(f"/api/v1/alerts/{alert}/acknowledge", headers={"X-CSRF-Token": "x"})
    assert forged.status_code == 403
    form = client.post(f"/api/v1/alerts/{alert}/comments", data={"csrf_token": csrf})
    assert form.status_code == 422  # past the CSRF check: a form is not a JSON body
    done = client.post(f"/api/v1/alerts/{alert}/acknowledge", headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200, done.text
    assert done.json()["alert"]["acknowledged_by"] == "user:manager"

    assert client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    client.cookies.clear()
    client.cookies.set("courtyard_session", login.cookies["courtyard_session"])
    assert client.get("/api/v1/me").status_code == 401  # the old cookie is dead server-side

    with psycopg.connect(world.url) as conn:
        actions = [r[0] for r in conn.execute("SELECT action FROM audit_log ORDER BY id")]
    assert "session.login_failed" in actions and "session.login" in actions


@pytest.mark.parametrize("user", ["manager", "volunteer", "admin"])
def test_contact_reads_are_audited(world: World, client: TestClient, user: str) -> None:
    mine = world.places["mine"]
    response = client.get(
        f"/api/v1/households/{mine.site_id}/{mine.household_id}", headers=bearer(world.tokens[user])
    )
    assert response.status_code == 200
    assert response.json()["contact"] == {"phone": "+86-alpha-mine"}
    with psycopg.connect(world.url) as conn:
        rows = conn.execute(
            "SELECT actor, target FROM audit_log WHERE action = 'household.contact.read'"
        ).fetchall()
    assert rows == [(f"user:{user}", "household:alpha/alpha-mine")]


def test_operator_sees_registry_and_rules_but_no_residents_or_alerts(
    world: World, client: TestClient
) -> None:
    token = bearer(world.tokens["operator"])
    assert client.get("/api/v1/devices", headers=token).status_code == 200
    assert client.get("/api/v1/rules", headers=token).status_code == 200
    assert client.get("/api/v1/rejects", headers=token).status_code == 200
    for path in ("/api/v1/alerts", "/api/v1/households", "/api/v1/people", "/api/v1/stream"):
        response = client.get(path, headers=token)
        assert response.status_code == 403, path
    mine = world.places["mine"]
    detail = client.get(f"/api/v1/households/{mine.site_id}/{mine.household_id}", headers=token)
    assert detail.status_code == 403


def test_integration_token_has_only_its_scopes(world: World, client: TestClient) -> None:
    token = bearer(world.tokens["integration"])  # alerts:read, site alpha
    alerts = client.get("/api/v1/alerts", headers=token)
    assert alerts.status_code == 200
    assert {a["site_id"] for a in alerts.json()["items"]} == {"alpha"}
    assert client.get("/api/v1/devices", headers=token).status_code == 403
    alert = world.places["facility"].alert_id
    assert client.post(f"/api/v1/alerts/{alert}/acknowledge", headers=token).status_code == 403
    with pytest.raises(cli.UserError):
        cli.create_token(StoreSettings(url=world.url), user_id="integration", name="x", days=1)


def test_volunteer_sees_only_their_households_care_alerts(world: World, client: TestClient) -> None:
    response = client.get("/api/v1/alerts", headers=bearer(world.tokens["volunteer"]))
    items = response.json()["items"]
    assert [(a["household_id"], a["category"]) for a in items] == [("alpha-mine", "care")]
    me = client.get("/api/v1/me", headers=bearer(world.tokens["volunteer"])).json()
    assert me["households"] == ["alpha/alpha-mine"]
