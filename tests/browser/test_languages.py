"""The dashboard speaks each reader's language: a volunteer who reads Chinese goes through the
care-alert flow on a phone in zh-CN (rule title included), and a manager's site overview is in
English for a manager who reads English."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
from playwright.sync_api import Browser, ViewportSize, expect

from i18n.languages import translations
from rules.catalog.inactivity import STILL
from store.alerts import transitions
from tests.api.world import World
from tests.browser.conftest import Screenshot
from tests.browser.dashboard import PASSWORD, fits_the_screen, wait_until_live, watch_errors

PHONE: ViewportSize = {"width": 390, "height": 844}
ZH = translations("zh-CN").gettext


def _raise_still_alert(url: str) -> int:
    """A care alert with a rule's own title, committed as the rules engine commits one."""
    with psycopg.connect(url) as conn:
        alert, _ = transitions.raise_or_repeat(
            conn,
            dedup_key="inactivity:alpha/alpha-mine",
            rule_id="inactivity",
            site_id="alpha",
            subject="alpha-mine",
            household_id="alpha-mine",
            category="care",
            severity="critical",
            summary_key=STILL,
            summary_args={"household": "3号楼502", "hours": 4.5},
            value=4.5,
            metric=None,
            at=datetime.now(UTC),
            actor="rule:inactivity",
        )
    return alert.id


def test_a_volunteer_who_reads_chinese_works_through_a_care_alert_in_chinese(
    browser: Browser, live_app: str, browser_world: World, screenshot: Screenshot
) -> None:
    with psycopg.connect(browser_world.url) as conn:
        conn.execute("UPDATE people SET language = 'zh-CN' WHERE id = 'alpha-mine-volunteer'")
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN", device_scale_factor=2
    )
    page = context.new_page()
    errors = watch_errors(page)
    try:
        page.goto(f"{live_app}/login")  # no user yet: the browser's language (zh-CN)
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        page.get_by_label(ZH("User id")).fill("volunteer")
        page.get_by_label(ZH("Password")).fill(PASSWORD)
        page.get_by_role("button", name=ZH("Log in")).click()
        page.wait_for_url(f"{live_app}/my")
        wait_until_live(page)

        alert_id = _raise_still_alert(browser_world.url)
        card = page.locator(f"#alert-{alert_id}")
        expect(card).to_contain_text("3号楼502 躺下或坐下后已 4.5 小时没有动静")
        assert fits_the_screen(page)
        screenshot(page, "1-zh-care-alert")

        card.get_by_role("button", name=ZH("Acknowledge: I am on it")).tap()
        card = page.locator(f"#alert-{alert_id}")
        expect(card.locator(".badge-status")).to_have_text(ZH("Acknowledged"))
        card.get_by_role("button", name=ZH("Resident fine")).tap()
        expect(page.get_by_text(ZH("The outcome is recorded. Thank you."))).to_be_visible()
        assert fits_the_screen(page)
        screenshot(page, "2-zh-outcome-recorded")
    finally:
        context.close()
    assert errors == []


def test_a_manager_who_reads_english_sees_the_overview_in_english(
    browser: Browser, live_app: str, browser_world: World, screenshot: Screenshot
) -> None:
    # The browser asks for Chinese, but the manager's own setting (English) wins, until the
    # manager chooses Chinese.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    errors = watch_errors(page)
    try:
        page.goto(f"{live_app}/login")
        page.get_by_label(ZH("User id")).fill("manager")
        page.get_by_label(ZH("Password")).fill(PASSWORD)
        page.get_by_role("button", name=ZH("Log in")).click()
        page.wait_for_url(f"{live_app}/sites/alpha")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        expect(page.get_by_text("Open alerts").first).to_be_visible()
        screenshot(page, "manager-overview-en")

        # The switch in the header: the same page, now in Chinese, and it stays so.
        page.get_by_role("button", name="中文").click()
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        page.wait_for_url(f"{live_app}/sites/alpha")
        expect(page.get_by_role("heading", name=ZH("Devices by state"))).to_be_visible()
        page.reload()
        expect(page.get_by_role("button", name="English")).to_be_visible()
    finally:
        context.close()
    assert errors == []
