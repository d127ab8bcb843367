"""A device's page through the real app, with the rules package's own service (as `courtyard
api` wires it): its heading (name in the reader's language, id, kind and role, "suggested" until
a person confirms them, place) and, for each event type it sent, the enabled rules of its site
that act on it, or "no rule uses this"."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from courtyard.rule_service import RulesForApi
from store.settings import StoreSettings
from tests.api.pages.browser_session import log_in
from tests.api.world import World


@pytest.fixture
def rules_client(database_url: str, api_settings: ApiSettings) -> Iterator[TestClient]:
    store = StoreSettings(url=database_url)
    app = create_app(api_settings, store, rule_service=RulesForApi(store))
    with TestClient(app, base_url="https://testserver") as client:
        client.headers["Accept-Language"] = "en"
        yield client


def _rule(conn: psycopg.Connection, rule_id: str, kind: str, site: str, params: str) -> None:
    conn.execute(
        "INSERT INTO rules (id, kind, site_id, params, category, severity)"
        " VALUES (%s, %s, %s, %s, 'care', 'critical')",
        (rule_id, kind, site, params),
    )


def _uses(page: str) -> dict[str, str]:
    items = re.findall(r'<li data-event="([^"]+)">[^:<]+: (.*?)</li>', page, re.S)
    return {t: re.sub(r"<[^>]+>", "", html.unescape(text)).strip() for t, text in items}


def test_heading_says_what_the_device_is(rules_client: TestClient, world: World) -> None:
    mine = world.places["mine"]
    with psycopg.connect(world.url) as conn:
        conn.execute(
            """UPDATE devices SET name = 'Kitchen PIR', names = '{"zh-CN": "厨房人体"}',
                      building_id = 'alpha-mine-block', room = 'kitchen' WHERE id = %s""",
            (mine.device_id,),
        )
        conn.execute(
            "UPDATE household_devices SET role = 'motion', role_room = 'kitchen'"
            " WHERE device_key = %s",
            (mine.device_key,),
        )
    log_in(rules_client, "manager")
    page = rules_client.get(f"/devices/{mine.device_id}").text
    heading = re.search(r"<h1>(.*?)</h1>\s*<p class=\"lede device-what\">(.*?)</p>", page, re.S)
    assert heading, page
    assert heading.group(1) == (f'Kitchen PIR <small class="device-id">{mine.device_key}</small>')
    what = re.sub(r"<[^>]+>|\s+", " ", html.unescape(heading.group(2))).split()
    assert " ".join(what) == (
        "Motion sensor (suggested) · alpha-mine-block / kitchen · "
        "Household role: Motion in a room (Kitchen)"
    )
    rules_client.headers["Accept-Language"] = "zh-CN"
    with psycopg.connect(world.url) as conn:
        conn.execute("UPDATE people SET language = 'zh-CN'")
    page = rules_client.get(f"/devices/{mine.device_id}").text
    assert f'<h1>厨房人体 <small class="device-id">{mine.device_key}</small></h1>' in page
    assert "运动传感器" in page or "人体" in page
    assert "(建议)" in page


def test_each_event_type_says_whether_a_rule_uses_it(
    rules_client: TestClient, world: World
) -> None:
    mine = world.places["mine"]
    at = datetime(2026, 12, 1, 8, tzinfo=UTC)
    with psycopg.connect(world.url) as conn:
        for event in ("sos", "motion", "fall"):
            conn.execute(
                "INSERT INTO events (device_id, ts, type) VALUES (%s, %s, %s)",
                (mine.device_id, at, event),
            )
        _rule(conn, "alpha-sos", "emergency", "alpha", '{"kinds": ["sos"]}')
        _rule(conn, "beta-falls", "emergency", "beta", '{"kinds": ["fall"]}')
        _rule(conn, "alpha-quiet-home", "inactivity", "alpha", "{}")
        conn.execute("UPDATE rules SET enabled = false WHERE id = 'alpha-quiet-home'")
    log_in(rules_client, "manager")
    page = rules_client.get(f"/devices/{mine.device_id}").text
    assert _uses(page) == {
        "door_open": "no rule uses this",
        "fall": "no rule uses this",  # only another site's rule reads falls
        "motion": "no rule uses this",  # the inactivity rule is disabled
        "sos": "read by alpha-sos",
    }
    with psycopg.connect(world.url) as conn:
        conn.execute("UPDATE rules SET enabled = true WHERE id = 'alpha-quiet-home'")
    page = rules_client.get(f"/devices/{mine.device_id}").text
    assert _uses(page) == {
        "door_open": "read by alpha-quiet-home",
        "fall": "no rule uses this",
        "motion": "read by alpha-quiet-home",
        "sos": "read by alpha-sos",
    }
