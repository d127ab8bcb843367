"""A manager works through the alert table: filters it, selects rows and acknowledges them in
one go with a comment; at a desk in English, and on a phone in Chinese."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import psycopg
from playwright.sync_api import Browser, Page, ViewportSize, expect

from i18n.languages import translations
from rules.catalog import heartbeat
from store.alerts import transitions
from tests.api.world import World
from tests.browser.conftest import Screenshot
from tests.browser.dashboard import PASSWORD, fits_the_screen, wait_until_live, watch_errors

PHONE: ViewportSize = {"width": 390, "height": 844}
ZH = translations("zh-CN").gettext
#: The screenshot of the table a reviewer looks at (not committed).
REVIEW_SCREENSHOT = "/tmp/alerttable-screenshot.png"


def _raise_lamps(url: str, n: int, first: int = 0) -> list[int]:
    """`n` critical alerts about the facility block's lamps, committed as the engine does."""
    now = datetime.now(UTC)
    ids = []
    with psycopg.connect(url) as conn:
        for i in range(first, first + n):
            device = f"alpha-facility-block-lamp-{i + 1:02d}"
            alert, _ = transitions.raise_or_repeat(
                conn,
                dedup_key=f"lamp:alpha:{device}",
                rule_id="lamp",
                site_id="alpha",
                subject=device,
                household_id=None,
                category="maintenance",
                severity="critical",
                summary_key=heartbeat.OFFLINE,
                summary_args={"device": device},
                value=None,
                metric=None,
                at=now - timedelta(minutes=i + 1),
                actor="rule:lamp",
            )
            ids.append(alert.id)
    return ids


def _statuses(url: str, ids: list[int]) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT status FROM alerts WHERE id = ANY(%s) ORDER BY id", (ids,)
        ).fetchall()
    return [str(s) for (s,) in rows]


def _log_in(page: Page, base: str, labels: dict[str, str]) -> None:
    page.goto(f"{base}/login?next=/alerts")
    page.get_by_label(labels["User id"]).fill("manager")
    page.get_by_label(labels["Password"]).fill(PASSWORD)
    page.get_by_role("button", name=labels["Log in"]).click()
    page.wait_for_url(f"{base}/alerts")


def test_a_manager_filters_and_acknowledges_alerts_in_bulk_at_a_desk(
    browser: Browser, live_app: str, browser_world: World, screenshot: Screenshot
) -> None:
    lamps = _raise_lamps(browser_world.url, 3)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en")
    page = context.new_page()
    errors = watch_errors(page)
    try:
        _log_in(page, live_app, {k: k for k in ("User id", "Password", "Log in")})
        wait_until_live(page)
        expect(page.locator(".alert-table tbody tr")).to_have_count(6)

        page.get_by_label("Severity", exact=True).select_option("critical")
        page.get_by_role("button", name="Filter", exact=True).click()
        page.wait_for_url(lambda url: "severity=critical" in url)
        rows = page.locator(".alert-table tbody tr")
        expect(rows).to_have_count(3)
        page.get_by_role("link", name="Device").click()  # sort by device, A to Z
        page.wait_for_url(lambda url: "sort=device" in url and "severity=critical" in url)
        expect(rows.first).to_contain_text("lamp-01")
        wait_until_live(page)
        shutil.copyfile(screenshot(page, "1-filtered"), REVIEW_SCREENSHOT)

        # Live: a new alert that matches the filters appears in its place.
        lamps += _raise_lamps(browser_world.url, 1, first=3)
        expect(rows).to_have_count(4)
        expect(rows.nth(3)).to_contain_text("lamp-04")

        page.get_by_label("Select every alert on this page").check()
        expect(page.locator("#selected-count")).to_have_text("Selected: 4")
        # While rows are selected, changes wait: the selection is not pulled away.
        _raise_lamps(browser_world.url, 1, first=4)
        expect(page.locator('#live-status[data-state="paused"]')).to_be_visible()
        expect(rows).to_have_count(4)
        page.get_by_label("Comment on the selected alerts (optional)").fill("Electrician called")
        page.get_by_role("button", name="Acknowledge selected").click()
        expect(page.get_by_text("Acknowledged: 4 alerts.")).to_be_visible()
        # Back on the same view: its filters and sort kept.
        assert "severity=critical" in page.url and "sort=device" in page.url
        statuses = rows.locator(".badge-status")
        expect(statuses).to_have_text(["Acknowledged"] * 4 + ["Open"])  # lamp-05 came meanwhile
        assert _statuses(browser_world.url, lamps) == ["acknowledged"] * 4
        screenshot(page, "2-acknowledged")

        page.go_back()  # the address holds the view: the browser's history too
        page.wait_for_url(lambda url: "severity=critical" in url and "bulk=" not in url)
    finally:
        context.close()
    assert errors == []


def test_a_manager_who_reads_chinese_acknowledges_on_a_phone(
    browser: Browser, live_app: str, browser_world: World, screenshot: Screenshot
) -> None:
    lamps = _raise_lamps(browser_world.url, 2)
    with psycopg.connect(browser_world.url) as conn:
        conn.execute("UPDATE people SET language = 'zh-CN' WHERE id = 'alpha-facility-manager'")
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN", device_scale_factor=2
    )
    page = context.new_page()
    errors = watch_errors(page)
    try:
        _log_in(page, live_app, {k: ZH(k) for k in ("User id", "Password", "Log in")})
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        page.get_by_label(ZH("Device or summary contains")).fill("已离线")
        page.get_by_role("button", name=ZH("Filter"), exact=True).tap()
        page.wait_for_url(lambda url: "q=" in url)
        rows = page.locator(".alert-table tbody tr")
        # The summary's words in Chinese find the lamps and the offline pump.
        expect(rows).to_have_count(3)
        assert fits_the_screen(page)

        page.get_by_label(ZH("Select alert %(id)s") % {"id": lamps[1]}).tap()
        page.get_by_role("button", name=ZH("Acknowledge selected")).tap()
        expect(
            page.get_by_text(ZH("Acknowledged: %(count)s alerts.") % {"count": 1})
        ).to_be_visible()
        assert _statuses(browser_world.url, lamps) == ["open", "acknowledged"]
        assert fits_the_screen(page)
        screenshot(page, "zh-phone")
    finally:
        context.close()
    assert errors == []
