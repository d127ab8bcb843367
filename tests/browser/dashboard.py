"""Steps the browser tests share: logging in through the form, waiting for live updates."""

from __future__ import annotations

from playwright.sync_api import Page

PASSWORD = "correct horse"
#: What a wait on the page may take: a change goes through the store, NOTIFY, SSE and a fetch.
EXPECT_TIMEOUT_MS = 20_000


def log_in(page: Page, base: str, user_id: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("User id").fill(user_id)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def wait_until_live(page: Page) -> None:
    """The page's alert stream is open: changes from now on reach it."""
    page.locator('#live-status[data-state="live"]').wait_for(timeout=EXPECT_TIMEOUT_MS)


def fits_the_screen(page: Page) -> bool:
    """Nothing sticks out sideways: no horizontal scrolling on a phone."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))
