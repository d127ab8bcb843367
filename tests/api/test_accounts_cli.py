"""`courtyard users list|deactivate|reset-password` and `courtyard tokens list|revoke`, run through
the real command (its parser, settings and database), checked against the real API; inputs
that would make a useless or weak account are refused."""

from __future__ import annotations

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Courtyard, bearer
from tests.api.test_accounts import account_audit
from tests.api.world import PASSWORD, World

V = "/api/v1"


@pytest.mark.parametrize("days", ["-1", "0", "100000"])
def test_tokens_create_refuses_days_out_of_bounds(
    courtyard: Courtyard, world: World, days: str
) -> None:
    code, out, err = courtyard("tokens", "create", "manager", "--days", days)
    assert code == 2 and out == "", (code, out)
    assert "days" in err
    with psycopg.connect(world.url) as conn:
        count = conn.execute("SELECT count(*) FROM api_tokens WHERE user_id = 'manager'").fetchone()
    assert count == (1,)


def test_users_add_refuses_weak_passwords_and_bad_ids(courtyard: Courtyard) -> None:
    code, _, err = courtyard(
        "users", "add", "newbie", "--role", "admin", "--password", stdin="abc\n"
    )
    assert code == 2 and "at least 12 characters" in err
    code, _, err = courtyard("users", "add", "bad id!", "--role", "admin")
    assert code == 2 and "user id" in err
    code, out, _ = courtyard(
        "users", "add", "newbie", "--role", "admin", "--password", stdin="long enough, surely\n"
    )
    assert code == 0 and "added admin newbie" in out


def test_tokens_list_and_revoke(courtyard: Courtyard, world: World, client: TestClient) -> None:
    code, out, _ = courtyard("tokens", "list", "manager")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 1 and lines[0].split("\t")[1] == "manager"
    assert world.tokens["manager"] not in out
    token_id = lines[0].split("\t")[0]

    assert client.get(f"{V}/me", headers=bearer(world.tokens["manager"])).status_code == 200
    code, out, _ = courtyard("tokens", "revoke", token_id)
    assert code == 0 and f"token {token_id} revoked" in out
    assert client.get(f"{V}/me", headers=bearer(world.tokens["manager"])).status_code == 401
    assert "revoked" in courtyard("tokens", "list", "manager")[1]
    code, _, err = courtyard("tokens", "revoke", "999999")
    assert code == 2 and "no such token" in err
    assert account_audit(world.url) == [("system", "token.revoke", f"token:{token_id}")]


def test_users_list_deactivate_and_reset_password(
    courtyard: Courtyard, world: World, client: TestClient
) -> None:
    code, out, _ = courtyard("users", "list")
    rows = {line.split("\t")[0]: line.split("\t") for line in out.splitlines()}
    assert code == 0 and set(rows) == set(world.tokens)
    assert rows["manager"][1:4] == ["manager", "active", "alpha"]

    # A session of the manager, and one of the volunteer.
    sessions = {}
    for user in ("manager", "volunteer"):
        login = client.post(f"{V}/session", json={"user_id": user, "password": PASSWORD})
        assert login.status_code == 200
        sessions[user] = {"courtyard_session": login.cookies["courtyard_session"]}
        client.cookies.clear()

    code, out, _ = courtyard("users", "deactivate", "manager")
    assert code == 0 and "deactivated manager" in out
    assert client.get(f"{V}/me", headers=bearer(world.tokens["manager"])).status_code == 401
    client.cookies.update(sessions["manager"])
    assert client.get(f"{V}/me").status_code == 401
    client.cookies.clear()
    assert "deactivated" in courtyard("users", "list")[1].splitlines()[2]
    assert courtyard("users", "deactivate", "nobody")[0] == 2

    code, _, err = courtyard("users", "reset-password", "volunteer", stdin="short\n")
    assert code == 2 and "at least 12 characters" in err
    new = "another long passphrase"
    code, out, _ = courtyard("users", "reset-password", "volunteer", stdin=new + "\n")
    assert code == 0, out
    client.cookies.update(sessions["volunteer"])
    assert client.get(f"{V}/me").status_code == 401  # the old session ended
    client.cookies.clear()
    old = client.post(f"{V}/session", json={"user_id": "volunteer", "password": PASSWORD})
    assert old.status_code == 401
    fresh = client.post(f"{V}/session", json={"user_id": "volunteer", "password": new})
    assert fresh.status_code == 200
    assert account_audit(world.url) == [
        ("system", "user.deactivate", "user:manager"),
        ("system", "user.reset_password", "user:volunteer"),
    ]
