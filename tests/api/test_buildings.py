"""Buildings through the API: who sees which, the detail's households, writes (audited), and the
household's building_id (checked against the site's buildings)."""

from __future__ import annotations

import psycopg
from fastapi.testclient import TestClient

from tests.api.conftest import bearer
from tests.api.world import World

V = "/api/v1"


def _ids(client: TestClient, token: str, **params: str) -> list[str]:
    response = client.get(f"{V}/buildings", params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    return [f"{b['site_id']}/{b['id']}" for b in response.json()]


def test_each_role_lists_the_buildings_it_may_see(world: World, client: TestClient) -> None:
    alpha = ["alpha/alpha-facility-block", "alpha/alpha-mine-block", "alpha/alpha-theirs-block"]
    assert _ids(client, world.tokens["admin"]) == [*alpha, "beta/beta-block"]
    assert _ids(client, world.tokens["admin"], site="beta") == ["beta/beta-block"]
    assert _ids(client, world.tokens["manager"]) == alpha
    assert _ids(client, world.tokens["manager"], site="beta") == []
    # A volunteer: the buildings of their households only, not the rest of the site.
    assert _ids(client, world.tokens["volunteer"]) == ["alpha/alpha-mine-block"]
    operator = client.get(f"{V}/buildings", headers=bearer(world.tokens["operator"]))
    assert operator.status_code == 403


def test_detail_lists_the_households_the_caller_sees(world: World, client: TestClient) -> None:
    mine = world.places["mine"]
    url = f"{V}/buildings/alpha/{mine.building_id}"
    manager = client.get(url, headers=bearer(world.tokens["manager"]))
    assert manager.status_code == 200, manager.text
    body = manager.json()
    assert (body["name"], body["floors"]) == ("Block alpha-mine-block", 18)
    assert [h["id"] for h in body["households"]] == ["alpha-mine"]
    assert body["households"][0]["building_id"] == mine.building_id
    assert "contact" not in body["households"][0]

    # The volunteer's household moves in with the other one: the volunteer still sees only theirs.
    with psycopg.connect(world.url) as conn:
        conn.execute(
            "UPDATE households SET building_id = 'alpha-theirs-block' WHERE id = 'alpha-mine'"
        )
    theirs = f"{V}/buildings/alpha/alpha-theirs-block"
    volunteer = client.get(theirs, headers=bearer(world.tokens["volunteer"])).json()
    assert [h["id"] for h in volunteer["households"]] == ["alpha-mine"]
    admin = client.get(theirs, headers=bearer(world.tokens["admin"])).json()
    assert [h["id"] for h in admin["households"]] == ["alpha-mine", "alpha-theirs"]
    gone = client.get(url, headers=bearer(world.tokens["volunteer"]))
    assert gone.status_code == 404


def test_put_creates_then_replaces_and_is_audited(world: World, client: TestClient) -> None:
    manager = bearer(world.tokens["manager"])
    url = f"{V}/buildings/alpha/b07"
    created = client.put(url, json={"name": "Building 7", "floors": 11}, headers=manager)
    assert created.status_code == 201, created.text
    assert (created.json()["name"], created.json()["floors"]) == ("Building 7", 11)
    replaced = client.put(url, json={"name": "Tower 7"}, headers=manager)
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["name"], replaced.json()["floors"]) == ("Tower 7", None)
    assert client.get(url, headers=manager).json()["households"] == []

    bad = client.put(url, json={"name": "Tower 7", "floors": 0}, headers=manager)
    assert bad.status_code == 422
    assert [f["field"] for f in bad.json()["error"]["fields"]] == ["body.floors"]
    foreign = client.put(f"{V}/buildings/beta/b07", json={"name": "B"}, headers=manager)
    assert foreign.status_code == 404
    volunteer = client.put(url, json={"name": "B"}, headers=bearer(world.tokens["volunteer"]))
    assert volunteer.status_code == 403
    with psycopg.connect(world.url) as conn:
        rows = conn.execute(
            "SELECT actor, target, site_id FROM audit_log WHERE action = 'building.write'"
        ).fetchall()
    assert rows == [("user:manager", "building:alpha/b07", "alpha")] * 2


def test_household_building_id_is_a_building_of_its_site(world: World, client: TestClient) -> None:
    manager = bearer(world.tokens["manager"])
    url = f"{V}/households/alpha/alpha-theirs"
    moved = client.put(
        url, json={"label": "Room 2", "building_id": "alpha-mine-block"}, headers=manager
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["building_id"] == "alpha-mine-block"
    listed = client.get(f"{V}/households", params={"site": "alpha"}, headers=manager).json()
    assert {h["id"]: h["building_id"] for h in listed} == {
        "alpha-mine": "alpha-mine-block",
        "alpha-theirs": "alpha-mine-block",
    }

    for building in ("beta-block", "nowhere"):  # another site's, and none at all
        refused = client.put(
            url,
            json={"label": "Room 2", "building_id": building},
            headers=bearer(world.tokens["admin"]),
        )
        assert refused.status_code == 422, refused.text
        assert [f["field"] for f in refused.json()["error"]["fields"]] == ["body.building_id"]

    # Left out, the building goes with the rest of what PUT replaces.
    cleared = client.put(url, json={"label": "Room 2"}, headers=manager)
    assert cleared.status_code == 200 and cleared.json()["building_id"] is None
    detail = client.get(url, headers=manager).json()
    assert detail["building_id"] is None and detail["label"] == "Room 2"
