"""The API's human texts follow the caller's language; its codes never change."""

from __future__ import annotations

import psycopg
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb

from tests.api.conftest import bearer
from tests.api.world import World


def _offline_alert(database_url: str, alert_id: int) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE alerts SET summary_key = %s, summary_args = %s WHERE id = %s",
            ("{device} went offline", Jsonb({"device": "pump-1"}), alert_id),
        )


def _alert(client: TestClient, token: str, alert_id: int, accept: str | None = None) -> dict:  # type: ignore[type-arg]
    headers = bearer(token) | ({"Accept-Language": accept} if accept else {})
    response = client.get(f"/api/v1/alerts/{alert_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_summary_and_labels_follow_the_callers_language(
    world: World, client: TestClient, database_url: str
) -> None:
    alert_id = world.places["mine"].alert_id
    _offline_alert(database_url, alert_id)
    # The admin has no language of their own: the browser's decides, else the platform's.
    english = _alert(client, world.tokens["admin"], alert_id, "en-US,en;q=0.9")
    chinese = _alert(client, world.tokens["admin"], alert_id, "zh-CN,zh;q=0.9,en;q=0.5")
    default = _alert(client, world.tokens["admin"], alert_id)
    assert (english["summary"], english["language"]) == ("pump-1 went offline", "en")
    assert (chinese["summary"], chinese["language"]) == ("pump-1 已离线", "zh-CN")
    assert default["language"] == "zh-CN"
    assert (english["status_label"], chinese["status_label"]) == ("Open", "待处理")
    assert chinese["category_label"] == "关爱"
    # Codes stay codes.
    for body in (english, chinese):
        assert (body["status"], body["category"]) == ("open", "care")
        assert body["summary_key"] == "{device} went offline"


def test_a_users_own_language_wins_over_the_browser(
    world: World, client: TestClient, database_url: str
) -> None:
    alert_id = world.places["mine"].alert_id
    _offline_alert(database_url, alert_id)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE users SET language = 'en' WHERE id = 'admin'")
    body = _alert(client, world.tokens["admin"], alert_id, "zh-CN")
    assert (body["summary"], body["language"]) == ("pump-1 went offline", "en")
    # A volunteer's language is their person's (what their notifications use too).
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE people SET language = 'zh-CN' WHERE id = "
            "(SELECT person_id FROM users WHERE id = 'volunteer')"
        )
    mine = _alert(client, world.tokens["volunteer"], alert_id, "en")
    assert (mine["summary"], mine["language"]) == ("pump-1 已离线", "zh-CN")


def test_the_site_default_language_applies_when_nothing_else_says(
    world: World, client: TestClient, database_url: str
) -> None:
    alert_id = world.places["mine"].alert_id
    _offline_alert(database_url, alert_id)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE site_defaults SET language = 'en'")
    assert _alert(client, world.tokens["admin"], alert_id)["language"] == "en"
