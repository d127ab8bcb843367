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


def watch_errors(page: Page) -> list[str]:
    """Script errors and console errors of `page` (a refused Content-Security-Policy included),
    collected as they happen; the test asserts the list stays empty."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            errors.append(f"console: {message.text}") if message.type == "error" else None
        ),
    )
    return errors
