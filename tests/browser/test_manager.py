"""A manager's afternoon: a booster pump fails, its pressure readings go through MQTT, ingest and
the rules engine (the shipped `pump-pressure-low` rule), and the alert appears live on the site
overview; the manager opens the pump's chart, then acknowledges the alert."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import psycopg
from playwright.sync_api import Browser, expect

from rules.definitions import to_record
from rules.ruleset import StoredRules, default_definitions
from store.rules import rule_defs
from tests.api.world import World
from tests.browser.conftest import Screenshot
from tests.browser.dashboard import log_in, wait_until_live, watch_errors
from tests.e2e.platform import rules_engine
from tests.support.ingest import RunningIngest
from tests.support.mqtt import Publisher
from tests.support.waiting import wait_for

RULE = "pump-pressure-low"
PUMP = "alpha-facility-pump"


def _install_pump_rule(url: str) -> None:
    """Only the shipped rule under test (the world's own rows are API fixtures, not rules the
    engine could run)."""
    with psycopg.connect(url) as conn:
        conn.execute("DELETE FROM rules")
        rule_defs.sync(conn, [to_record(d) for d in default_definitions() if d.id == RULE])


def _publish_failing_pump(publisher: Publisher) -> None:
    """Two hours of normal outlet pressure (3.2-3.9 bar, a reading a minute), then 0.8 bar for
    the last 200 s: below 2 bar for longer than the rule's 2-minute hold."""
    now = time.time()
    normal = [
        {"ts": now - 7400 + 60 * n, "readings": {"pressure_bar": 3.2 + (n % 8) / 10}}
        for n in range(120)
    ]
    failing = [{"ts": now - age, "readings": {"pressure_bar": 0.8}} for age in range(200, -1, -10)]
    topic = f"courtyard/v1/alpha/{PUMP}/telemetry"
    publisher.publish(topic, json.dumps(normal))
    publisher.publish(topic, json.dumps(failing))
    publisher.flush()


def _pump_alert(url: str) -> int | None:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT id FROM alerts WHERE rule_id = %s AND subject = %s", (RULE, PUMP)
        ).fetchone()
    return None if row is None else int(row[0])


def test_manager_sees_a_pump_fail_live_opens_its_chart_and_acknowledges(
    browser: Browser,
    live_app: str,
    browser_world: World,
    start_ingest: Callable[..., RunningIngest],
    publisher: Publisher,
    screenshot: Screenshot,
) -> None:
    url = browser_world.url
    _install_pump_rule(url)
    start_ingest()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    errors = watch_errors(page)
    try:
        with rules_engine(url, StoredRules()) as engine:
            assert engine.ready.wait(30), "the rules engine did not start"
            log_in(page, live_app, "manager")
            assert page.url == f"{live_app}/sites/alpha"  # a manager of one site lands on it
            wait_until_live(page)
            page.evaluate("window.__sameDocument = true")

            _publish_failing_pump(publisher)
            alert_id = wait_for(lambda: _pump_alert(url), timeout_s=30, what="the pump alert")
            card = page.locator(f"#alert-{alert_id}")
            expect(card).to_be_visible()  # through the stream, without a reload
            expect(card).to_contain_text(PUMP)
            expect(card.locator(".badge-critical")).to_be_visible()
            assert page.evaluate("window.__sameDocument") is True
            screenshot(page, "1-overview-alert-live")

        card.locator("a[href^='/devices/']").click()
        page.wait_for_url("**/devices/**metric=pressure_bar**")
        expect(page.locator('#chart[data-state="drawn"] canvas').first).to_be_visible()
        expect(page.locator("#chart-summary")).to_contain_text("lowest 0.8 bar, highest 3.9 bar")
        screenshot(page, "2-device-chart")

        page.locator(f"#alert-{alert_id} .alert-title a").click()
        page.get_by_role("button", name="Acknowledge", exact=True).click()
        expect(page.locator("#alert-status")).to_have_text("Acknowledged")
        expect(page.get_by_role("status").filter(has_text="Acknowledged.")).to_be_visible()
        expect(page.locator(".history")).to_contain_text("by manager")
        screenshot(page, "3-alert-acknowledged")
    finally:
        context.close()
    assert errors == []

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT status, acknowledged_by FROM alerts WHERE id = %s", (alert_id,)
        ).fetchone()
    assert row == ("acknowledged", "user:manager")
