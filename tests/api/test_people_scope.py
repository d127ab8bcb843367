"""A manager assigns only the people they see, learns nothing of another site's people, and
every change of people and assignments is in the audit log with its actor (channel names, never
their secrets)."""

from __future__ import annotations

import psycopg
from fastapi.testclient import TestClient

from tests.api.conftest import bearer
from tests.api.world import World

V = "/api/v1"
SECRET_URL = "https://hooks.example.com/alpha?token=s3cret-webhook"


def _audit(url: str, action: str) -> list[tuple[str, str, str | None, dict[str, object]]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT actor, target, site_id, details FROM audit_log WHERE action = %s ORDER BY id",
            (action,),
        ).fetchall()
    return [(str(a), str(t), s, dict(d)) for a, t, s, d in rows]


def test_a_manager_cannot_take_over_a_person_of_another_site(
    world: World, client: TestClient
) -> None:
    manager = bearer(world.tokens["manager"])
    beta_person = world.places["beta"].person_id
    takeover = {"person_id": beta_person, "site_id": "alpha", "role": "staff"}
    nobody = {**takeover, "person_id": "no-such-person"}

    refused = client.post(f"{V}/assignments", json=takeover, headers=manager)
    missing = client.post(f"{V}/assignments", json=nobody, headers=manager)
    assert refused.status_code == 422, refused.text
    # Nothing tells a person of another site from an id that does not exist.
    assert refused.json() == missing.json()
    assert beta_person not in refused.text

    # Still out of reach: their channels can be neither read nor rewritten.
    assert client.get(f"{V}/people/{beta_person}", headers=manager).status_code == 404
    rewrite = {"name": "Mine now", "kind": "volunteer", "channels": {"webhook": SECRET_URL}}
    assert client.put(f"{V}/people/{beta_person}", json=rewrite, headers=manager).status_code == 404
    with psycopg.connect(world.url) as conn:
        sites = conn.execute(
            "SELECT array_agg(site_id) FROM assignments WHERE person_id = %s", (beta_person,)
        ).fetchone()
    assert sites is not None and sites[0] == ["beta"]

    # An admin may assign anyone anywhere.
    admin = client.post(f"{V}/assignments", json=takeover, headers=bearer(world.tokens["admin"]))
    assert admin.status_code == 201, admin.text


def test_a_manager_creates_a_person_with_their_first_assignment(
    world: World, client: TestClient
) -> None:
    manager = bearer(world.tokens["manager"])
    person = {"name": "New Staff", "kind": "staff"}
    alone = client.post(f"{V}/people", json=person, headers=manager)
    assert alone.status_code == 422, alone.text
    assert alone.json()["error"]["fields"][0]["field"] == "body.assignment"

    elsewhere = {**person, "assignment": {"site_id": "beta", "role": "staff"}}
    assert client.post(f"{V}/people", json=elsewhere, headers=manager).status_code == 422

    here = {**person, "assignment": {"site_id": "alpha", "role": "staff"}}
    created = client.post(f"{V}/people", json=here, headers=manager)
    assert created.status_code == 201, created.text
    person_id = created.json()["id"]
    assert client.get(f"{V}/people/{person_id}", headers=manager).status_code == 200
    roles = client.get(f"{V}/assignments", params={"person": person_id}, headers=manager).json()
    assert [(a["site_id"], a["role"]) for a in roles] == [("alpha", "staff")]

    # Someone who sees every site may create a person without an assignment.
    unassigned = client.post(f"{V}/people", json=person, headers=bearer(world.tokens["admin"]))
    assert unassigned.status_code == 201, unassigned.text


def test_changes_of_people_and_assignments_are_audited(world: World, client: TestClient) -> None:
    admin, manager = bearer(world.tokens["admin"]), bearer(world.tokens["manager"])
    created = client.post(
        f"{V}/people", json={"name": "Backup", "kind": "volunteer"}, headers=admin
    )
    assert created.status_code == 201, created.text
    person_id = created.json()["id"]
    backup = {"person_id": person_id, "site_id": "alpha", "household_id": "alpha-mine"}
    assigned = client.post(f"{V}/assignments", json={**backup, "role": "backup"}, headers=admin)
    assert assigned.status_code == 201, assigned.text
    changed = client.put(
        f"{V}/people/{person_id}",
        json={"name": "Backup", "kind": "volunteer", "channels": {"webhook": SECRET_URL}},
        headers=manager,
    )
    assert changed.status_code == 200, changed.text
    staff = client.post(
        f"{V}/assignments",
        json={"person_id": person_id, "site_id": "alpha", "role": "staff"},
        headers=manager,
    )
    assert staff.status_code == 201, staff.text
    deleted = client.delete(f"{V}/assignments/{staff.json()['id']}", headers=manager)
    assert deleted.status_code == 204

    target = f"person:{person_id}"
    assert _audit(world.url, "person.create") == [("user:admin", target, None, {"channels": []})]
    assert _audit(world.url, "person.write") == [
        ("user:manager", target, None, {"channels_changed": ["webhook"]})
    ]
    created_rows = _audit(world.url, "assignment.create")
    assert [(a, t, s, d["role"]) for a, t, s, d in created_rows] == [
        ("user:admin", target, "alpha", "backup"),
        ("user:manager", target, "alpha", "staff"),
    ]
    assert _audit(world.url, "assignment.delete") == [
        (
            "user:manager",
            target,
            "alpha",
            {"assignment": staff.json()["id"], "role": "staff", "household": None},
        )
    ]
    with psycopg.connect(world.url) as conn:
        trail = conn.execute("SELECT string_agg(details::text, ' ') FROM audit_log").fetchone()
    assert trail is not None and "s3cret" not in str(trail[0])
