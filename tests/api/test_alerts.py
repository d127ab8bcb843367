"""Alert actions through the API: the actor comes from the token, history records each change,
lifecycle refusals are 409, lists page by keyset."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import bearer
from tests.api.world import World


def test_actions_record_the_caller_as_actor(world: World, client: TestClient) -> None:
    volunteer = bearer(world.tokens["volunteer"])
    alert = world.places["mine"].alert_id
    outcome = client.post(
        f"/api/v1/alerts/{alert}/outcome",
        json={"outcome": "resident_fine", "note": "she was in the garden"},
        headers=volunteer,
    )
    assert outcome.status_code == 200, outcome.text
    body = outcome.json()
    assert body["alert"]["status"] == "acknowledged"
    assert body["alert"]["outcome"] == "resident_fine"
    assert body["change"]["actor"] == "user:volunteer"
    again = client.post(
        f"/api/v1/alerts/{alert}/outcome", json={"outcome": "resident_fine"}, headers=volunteer
    )
    assert again.json()["change"] is None  # nothing changed, nothing recorded

    resolved = client.post(f"/api/v1/alerts/{alert}/resolve", json={}, headers=volunteer)
    assert resolved.status_code == 200 and resolved.json()["alert"]["resolved_by"] == (
        "user:volunteer"
    )
    refused = client.post(f"/api/v1/alerts/{alert}/acknowledge", headers=volunteer)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "conflict"

    history = client.get(f"/api/v1/alerts/{alert}", headers=volunteer).json()["history"]
    assert [(c["change"], c["actor"]) for c in history] == [
        ("raised", "rule:alpha-inactivity"),
        ("acknowledged", "user:volunteer"),
        ("outcome", "user:volunteer"),
        ("resolved", "user:volunteer"),
    ]


def test_outcome_is_for_care_alerts_and_assignees_for_the_site(
    world: World, client: TestClient
) -> None:
    manager = bearer(world.tokens["manager"])
    facility = world.places["facility"].alert_id
    outcome = client.post(
        f"/api/v1/alerts/{facility}/outcome", json={"outcome": "needed_help"}, headers=manager
    )
    assert outcome.status_code == 409
    elsewhere = client.post(
        f"/api/v1/alerts/{facility}/assign",
        json={"assignee": "beta-facility-manager"},
        headers=manager,
    )
    assert elsewhere.status_code == 422
    assert elsewhere.json()["error"]["fields"][0]["field"] == "body.assignee"
    assigned = client.post(
        f"/api/v1/alerts/{facility}/assign",
        json={"assignee": "alpha-facility-manager"},
        headers=manager,
    )
    assert assigned.status_code == 200
    assert assigned.json()["alert"]["assignee"] == "alpha-facility-manager"
    comment = client.post(
        f"/api/v1/alerts/{facility}/comments", json={"text": "  "}, headers=manager
    )
    assert comment.status_code == 422


def test_alert_list_filters_and_pages(world: World, client: TestClient) -> None:
    admin = bearer(world.tokens["admin"])
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2, "status": "open"}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/alerts", params=params, headers=admin).json()
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 and seen == sorted(seen, reverse=True)
    care = client.get(
        "/api/v1/alerts", params={"category": "care", "site": "alpha"}, headers=admin
    ).json()["items"]
    assert {a["household_id"] for a in care} == {"alpha-mine", "alpha-theirs"}


def test_csv_export_through_the_api(world: World, client: TestClient) -> None:
    manager = bearer(world.tokens["manager"])  # who reads Chinese (their person's setting)
    response = client.get("/api/v1/alerts/export.csv?category=care", headers=manager)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    text = response.content.decode("utf-8")
    assert text.startswith(
        "\ufeff告警,严重程度,状态,类别,小区,楼栋,住户,设备,设备编号,摘要,发生时间,"
    )
    lines = text.strip().split("\r\n")[1:]
    ids = sorted(int(line.split(",")[0]) for line in lines)
    assert ids == sorted([world.places["mine"].alert_id, world.places["theirs"].alert_id])
    assert "Block alpha-mine-block" in text and "beta" not in text
    volunteer = client.get(
        "/api/v1/alerts/export.csv", headers=bearer(world.tokens["volunteer"])
    ).content.decode("utf-8-sig")
    assert len(volunteer.strip().split("\r\n")) == 2 and "alpha-theirs" not in volunteer
