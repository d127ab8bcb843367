"""A manager's device chart in Chromium: the Show button with the empty fields the form sends, a
tank opening on its level with its rule's limit and its alert drawn, zoom and its reset, a
second metric (the inlet valve, drawn as states), and a rarely reporting sensor whose empty
range points to its newest reading. In English on a desktop and in Chinese on a phone."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import psycopg
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from i18n.languages import translations
from tests.api import chart_devices
from tests.api.world import World
from tests.browser.conftest import Screenshot
from tests.browser.dashboard import fits_the_screen, log_in, watch_errors

DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}


def _drawn(page: Page) -> None:
    expect(page.locator('#chart[data-state="drawn"] canvas').first).to_be_visible()


def _drag_across(page: Page) -> None:
    over = page.locator("#chart .u-over")
    # The mouse acts only inside the viewport: the device's heading may push the chart below it.
    over.scroll_into_view_if_needed()
    box = over.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.5, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.9, y, steps=5)
    page.mouse.up()


@pytest.mark.parametrize(
    ("language", "viewport"), [("en", DESKTOP), ("zh-CN", PHONE)], ids=["en-desktop", "zh-phone"]
)
def test_a_manager_reads_a_tank_and_a_quiet_sensor(
    browser: Browser,
    live_app: str,
    browser_world: World,
    screenshot: Screenshot,
    language: str,
    viewport: ViewportSize,
) -> None:
    _ = translations(language).gettext
    state = translations(language).pgettext
    with psycopg.connect(browser_world.url) as conn:
        conn.execute("UPDATE people SET language = %s", (language,))
    devices = chart_devices.add(browser_world.url, datetime.now(UTC))
    phone = viewport is PHONE
    context = browser.new_context(
        viewport=viewport, is_mobile=phone, has_touch=phone, locale="en-US"
    )
    page = context.new_page()
    errors = watch_errors(page)
    try:
        log_in(page, live_app, "manager")
        page.goto(f"{live_app}/devices/{devices.tank_id}")
        _drawn(page)
        # The Show button sends the empty date fields: the default range, not an error page.
        page.get_by_role("button", name=_("Show"), exact=True).click()
        page.wait_for_url("**from=&to=**")
        chart = page.locator("#chart")
        _drawn(page)
        assert page.locator("#metric").input_value() == "level_pct"  # the tank's level first
        expect(chart).to_have_attribute("data-kind", "measure")
        expect(chart).to_have_attribute("data-limits", "1")
        expect(chart).to_have_attribute("data-alerts", "1")
        expect(page.locator("#chart-limits")).to_contain_text("tank-level-low")
        expect(page.locator("#chart-no-data")).to_be_hidden()

        if not phone:
            _drag_across(page)
            expect(chart).to_have_attribute("data-zoomed", "yes")
            reset = page.get_by_role("button", name=_("Reset zoom"))
            reset.click()
            expect(chart).to_have_attribute("data-zoomed", "no")
            expect(reset).to_be_hidden()

        # The inlet valve beside the level, in its own words on its own axis.
        page.locator("#compare").select_option("inlet_open")
        page.get_by_role("button", name=_("Show"), exact=True).click()
        page.wait_for_url("**compare=inlet_open**")
        _drawn(page)
        expect(chart).to_have_attribute("data-compare", "drawn")
        expect(chart).to_have_attribute("data-compare-state-on", state("state", "Open"))
        page.locator("#chart").scroll_into_view_if_needed()
        screenshot(page, f"tank-{language}")
        assert fits_the_screen(page)

        # The valve alone: a band of its open times, not a line between 0 and 1.
        page.goto(f"{live_app}/devices/{devices.tank_id}?metric=inlet_open")
        _drawn(page)
        expect(chart).to_have_attribute("data-kind", "state")
        expect(page.locator("#chart-summary")).to_contain_text(state("state", "Open"))

        # A sensor that reported three days ago: the empty day says where its data is.
        page.goto(f"{live_app}/devices/{devices.rare_id}")
        hint = page.locator("#chart-no-data")
        expect(hint).to_be_visible()
        expect(page.locator("#chart")).to_have_attribute("data-state", "empty")
        page.get_by_role("link", name=_("Show the last data")).click()
        page.wait_for_url("**until=**")
        _drawn(page)
        expect(hint).to_be_hidden()
        screenshot(page, f"quiet-sensor-{language}")
        assert fits_the_screen(page)
    finally:
        context.close()
    assert errors == []
    assert shutil.which("chromium")  # the browser fixture skipped otherwise
