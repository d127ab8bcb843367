"""A volunteer on a phone: a new care alert for their household appears live on their page;
one tap acknowledges it, another records how the check-in went."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
from playwright.sync_api import Browser, ViewportSize, expect

from store.alerts import transitions
from tests.api.world import World
from tests.browser.conftest import Screenshot
from tests.browser.dashboard import fits_the_screen, log_in, wait_until_live, watch_errors

PHONE: ViewportSize = {"width": 390, "height": 844}


def _raise_care_alert(url: str) -> int:
    """A care alert for the volunteer's household, committed as the rules engine commits one."""
    with psycopg.connect(url) as conn:
        alert, _ = transitions.raise_or_repeat(
            conn,
            dedup_key="browser-inactivity:alpha:alpha-mine",
            rule_id="browser-inactivity",
            site_id="alpha",
            subject="alpha-mine",
            household_id="alpha-mine",
            category="care",
            severity="critical",
            summary_key="No activity at {household} since the morning",
            summary_args={"household": "Room alpha-mine"},
            value=None,
            metric=None,
            at=datetime.now(UTC),
            actor="rule:browser-inactivity",
        )
    return alert.id


def _alert_row(url: str, alert_id: int) -> tuple[object, ...]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT status, acknowledged_by, outcome FROM alerts WHERE id = %s", (alert_id,)
        ).fetchone()
    assert row is not None
    return tuple(row)


def test_volunteer_acknowledges_and_records_outcome_on_a_phone(
    browser: Browser,
    live_app: str,
    browser_world: World,
    screenshot: Screenshot,
) -> None:
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, locale="en-US", device_scale_factor=2
    )
    page = context.new_page()
    errors = watch_errors(page)
    try:
        log_in(page, live_app, "volunteer")
        assert page.url == f"{live_app}/my"
        wait_until_live(page)
        page.evaluate("window.__sameDocument = true")

        alert_id = _raise_care_alert(browser_world.url)
        card = page.locator(f"#alert-{alert_id}")
        expect(card).to_be_visible()  # arrived through the stream, without a reload
        expect(card).to_contain_text("No activity at Room alpha-mine since the morning")
        assert page.evaluate("window.__sameDocument") is True
        assert fits_the_screen(page)
        screenshot(page, "1-care-alert-live")

        card.get_by_role("button", name="Acknowledge: I am on it").tap()
        expect(page.get_by_role("status").filter(has_text="Acknowledged.")).to_be_visible()
        card = page.locator(f"#alert-{alert_id}")
        expect(card.locator(".badge-status")).to_have_text("Acknowledged")
        screenshot(page, "2-acknowledged")

        fine = card.get_by_role("button", name="Resident fine")
        fine.focus()  # the keyboard works as well as a finger
        page.keyboard.press("Enter")
        expect(page.get_by_text("The outcome is recorded. Thank you.")).to_be_visible()
        card = page.locator(f"#alert-{alert_id}")
        expect(card.get_by_role("button", name="Resident fine")).to_have_attribute(
            "aria-pressed", "true"
        )
        expect(card.locator(".alert-outcome")).to_have_text("Resident fine")
        assert fits_the_screen(page)
        screenshot(page, "3-outcome-recorded")
    finally:
        context.close()
    assert errors == []

    assert _alert_row(browser_world.url, alert_id) == (
        "acknowledged",
        "user:volunteer",
        "resident_fine",
    )
