"""A device people named is called by its name wherever an alert about it shows, in each
reader's language: an SOS pressed on it, through Mosquitto, ingest and the rules engine (its own
process), reaches its volunteer's webhook, the JSON API and the alert page by name, the device
id kept only where machines read it. A rename shows at once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import orjson
import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import bearer
from tests.api.pages.browser_session import log_in
from tests.api.world import World
from tests.rules.notify.community import set_channels
from tests.rules.notify.receivers import documented_receiver
from tests.support.ingest import RunningIngest
from tests.support.mqtt import Publisher
from tests.support.processes import CourtyardProcess, courtyard_env
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.timeout(300)]

SECRET = "named-devices-secret"
RULES = """
rules:
  - id: sos
    kind: emergency
    category: care
    severity: critical
    params: {kinds: [sos]}
    notify: {respect_quiet_hours: false}
"""
BUTTON = "z2m-alpha-mine-sos-b470105e"
ENGLISH = "Mr Li's SOS button"
CHINESE = "李先生的紧急按钮"


def sos_alert(database_url: str) -> int | None:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT id FROM alerts WHERE rule_id = 'sos'").fetchone()
    return None if row is None else int(row[0])


@pytest.fixture
def engine(database_url: str, tmp_path: Path) -> Iterator[CourtyardProcess]:
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(RULES)
    process = CourtyardProcess(
        ["rules", "--rules-file", str(rules_file)],
        courtyard_env(
            database_url=database_url,
            rules__tick_s="0.2",
            rules__refresh_s="0.5",
            notify__webhook_secret=SECRET,
            notify__allowed_destinations="127.0.0.1",  # the receiver's
            notify__poll_interval_s="0.2",
        ),
        tmp_path,
        "rules",
    )
    with ExitStack() as cleanup:
        process.start()
        cleanup.callback(lambda: process.running and process.kill())
        yield process


def test_an_sos_from_a_named_button_names_it_in_the_webhook_the_api_and_the_page(
    world: World,
    client: TestClient,
    start_ingest: Callable[..., RunningIngest],
    publisher: Publisher,
    database_url: str,
    engine: CourtyardProcess,
) -> None:
    admin = bearer(world.tokens["admin"])
    mine = world.places["mine"]
    described = client.post(
        f"/api/v1/sites/{mine.site_id}/devices/import",
        json=[
            {
                "device_key": BUTTON,
                "name": ENGLISH,
                "names": {"en": ENGLISH, "zh-CN": CHINESE},
                "kind": "sos_button",
                "household": mine.household_id,
                "role": "sos",
            }
        ],
        headers=admin,
    )
    assert described.status_code == 200, described.text
    start_ingest()
    with documented_receiver(SECRET) as receiver:
        with psycopg.connect(database_url) as conn:
            # The volunteer reads Chinese (the people's default here).
            set_channels(conn, mine.person_id, {"webhook": receiver.url})
        sos = {"ts": datetime.now(UTC).isoformat(), "type": "sos", "subject": "", "attrs": {}}
        publisher.publish(f"courtyard/v1/{mine.site_id}/{BUTTON}/event", orjson.dumps(sos))
        publisher.flush()
        try:
            wait_for(lambda: receiver.received, timeout_s=60, what="the SOS notification")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{engine.log()}") from None
        (told,) = receiver.received
    # The stable ids stay; a care alert is about the household, raised by the button.
    assert told["subject"] == mine.household_id and told["device"] == BUTTON
    assert told["language"] == "zh-CN"
    assert told["device_name"] == CHINESE
    assert told["subject_name"] == f"Room {mine.household_id}"  # the household's label
    assert CHINESE in told["title"] and CHINESE in told["body"]
    assert BUTTON not in told["title"] + told["body"]

    alert_id = sos_alert(database_url)
    assert alert_id is not None
    for language, name in (("en", ENGLISH), ("zh-CN", CHINESE)):
        got = client.get(
            f"/api/v1/alerts/{alert_id}", headers={**admin, "Accept-Language": language}
        ).json()
        assert got["language"] == language
        assert got["subject"] == mine.household_id
        assert got["subject_name"] == f"Room {mine.household_id}"
        assert got["summary_args"] == {"device": BUTTON}
        assert name in got["summary"] and BUTTON not in got["summary"]
    listed = client.get(
        "/api/v1/alerts", params={"site": mine.site_id}, headers={**admin, "Accept-Language": "en"}
    ).json()["items"]
    assert [a["summary"] for a in listed if a["id"] == alert_id] == [f"SOS from {ENGLISH}"]

    log_in(client, "volunteer")
    client.headers["Accept-Language"] = "en"
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE people SET language = 'en' WHERE id = %s", (mine.person_id,))
    page = client.get(f"/alerts/{alert_id}")
    assert page.status_code == 200, page.text
    assert f"SOS from {ENGLISH}".replace("'", "&#39;") in page.text
    assert BUTTON not in page.text
    assert f"Room {mine.household_id}</a>" in page.text  # the household by its label

    # A rename shows at once, in the API as on the page.
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT id FROM devices WHERE device_key = %s", (BUTTON,)).fetchone()
    assert row is not None
    device_id = int(row[0])
    renamed = client.patch(
        f"/api/v1/devices/{device_id}",
        json={"names": {"en": "Bedside SOS button", "zh-CN": "床头紧急按钮"}},
        headers=admin,
    )
    assert renamed.status_code == 200, renamed.text
    got = client.get(f"/api/v1/alerts/{alert_id}", headers={**admin, "Accept-Language": "zh-CN"})
    assert got.json()["summary"] == "床头紧急按钮 发出紧急呼救"
    assert "Bedside SOS button" in client.get(f"/alerts/{alert_id}").text
