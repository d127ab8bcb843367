"""Every dashboard page, as a reader of Chinese gets it, has no English left but the data.

The marking tests read the sources; this one reads what the server sends. A text built in
Python and never translated, a code word shown as it is (a device kind, a status) or a label
that misses the catalogue shows up here as Latin letters that are not one of the world's own
names, ids, zones or payloads.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.pages.alerts import Done, Problem
from api.pages.devices import RANGES
from tests.api.pages.browser_session import PASSWORD, csrf_of, log_in, login_token
from tests.api.world import World
from tests.i18n.visible_text import visible_text

LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
SPOKEN = re.compile(r"^[a-z-]+=")
#: Words that are the same in a Chinese text: units and the time standard.
SHARED_WORDS = frozenset({"UTC", "GMT", "JavaScript", "kWh", "mV", "lx", "hPa", "bar", "Hz", "min"})
#: Tables whose text columns hold what people named or devices sent: shown as they are.
DATA_QUERIES = (
    "SELECT id, name, timezone FROM sites",
    "SELECT id, name FROM buildings",
    "SELECT id, label FROM households",
    "SELECT v.value FROM households, jsonb_each_text(contact) v",
    "SELECT id, name FROM people",
    "SELECT id, name FROM users",
    "SELECT device_key FROM devices",
    "SELECT subject, rule_id, assignee FROM alerts",
    "SELECT actor, split_part(actor, ':', 2) FROM alert_changes",
    "SELECT v.value FROM alert_changes, jsonb_each_text(details) v",
    "SELECT id FROM rules",
    "SELECT topic, reason, convert_from(payload_prefix, 'UTF8') FROM rejected_messages",
)


@pytest.fixture
def chinese(client: TestClient) -> TestClient:
    client.headers["Accept-Language"] = "zh-CN,zh;q=0.9"
    return client


def _data_words(url: str) -> list[str]:
    """The world's own texts, longest first (so that "alpha-mine-block" goes before "alpha")."""
    found: set[str] = set()
    with psycopg.connect(url) as conn:
        for query in DATA_QUERIES:
            for row in conn.execute(query):
                found.update(str(v) for v in row if v)
    return sorted(found, key=len, reverse=True)


def _english_left(page: str, data: list[str]) -> list[str]:
    left = []
    for text in visible_text(page):
        rest = SPOKEN.sub("", text)  # an attribute's name is not read, its value is
        for value in data:
            rest = rest.replace(value, " ")
        words = [w for w in LATIN_WORD.findall(rest) if w not in SHARED_WORDS]
        if words:
            left.append(text)
    return left


def _act(client: TestClient, alert_id: int, action: str, **form: str) -> None:
    csrf = csrf_of(client.get(f"/alerts/{alert_id}").text)
    response = client.post(
        f"/alerts/{alert_id}/{action}",
        data={"csrf_token": csrf, **form},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def _manager_pages(client: TestClient, world: World) -> Iterator[tuple[str, str]]:
    facility = world.places["facility"]
    care = world.places["mine"]
    log_in(client, "manager")
    # Every kind of change in an alert's history, by the dashboard's own forms.
    _act(client, facility.alert_id, "acknowledge")
    _act(client, facility.alert_id, "assign", assignee="alpha-facility-manager")
    _act(client, facility.alert_id, "comment", text="换了压力开关")
    _act(client, care.alert_id, "outcome", outcome="resident_fine", note="老人在家，一切正常")
    _act(client, care.alert_id, "resolve", note="已上门")
    paths = [
        "/sites",
        "/sites/alpha",
        "/sites/alpha/live",
        "/alerts",
        "/alerts?status=resolved",
        "/alerts?category=care",
        "/alerts?bulk=acknowledged&changed=2&skipped=1",
        "/alerts?bulk=resolved&changed=1&problem=invalid",
        "/alerts?severity=warning&sort=device&q=pump&from=2026-01-01",
        "/alerts/rows?status=all",
        f"/alerts/{care.alert_id}",
        f"/households/alpha/{care.household_id}",
        "/rejects",
        "/rejects?reason=alpha-facility-pump%20sent%20bad%20JSON",
        "/devices/99999999",  # not found
        "/devices/not-a-number",  # an invalid address
        f"/devices/{facility.device_id}?from=2026-03-02&to=2026-03-01",  # days reversed
    ]
    paths += [f"/devices/{facility.device_id}?range={r}" for r in RANGES]
    paths += [f"/devices/{facility.device_id}?metric=battery_pct&from=2026-03-28&to=2026-03-30"]
    paths += [f"/alerts/{facility.alert_id}?done={d}" for d in Done.__args__]
    paths += [f"/alerts/{facility.alert_id}?problem={p}" for p in Problem.__args__]
    # The device pages (test_device_pages.py): list, edit form and household setup.
    paths += ["/sites/alpha/devices", "/sites/alpha/devices?kind=unknown&state=alerting&q=x"]
    paths += [f"/devices/{facility.device_id}/edit?done={d}" for d in ("saved", "unchanged")]
    paths += [f"/households/alpha/{care.household_id}/setup?done=saved"]
    for path in paths:
        yield path, client.get(path).text
    csrf = csrf_of(client.get(f"/devices/{facility.device_id}/edit").text)
    wrong = {"csrf_token": csrf, "kind": "nope", "installed_on": "x", "role": "bed"}
    edit = client.post(f"/devices/{facility.device_id}/edit", data=wrong)
    yield "POST /devices/…/edit (wrong values)", edit.text
    setup = client.post(
        f"/households/alpha/{care.household_id}/setup",
        data={"csrf_token": csrf, "add": "no-such-device"},
    )
    yield "POST /households/…/setup (wrong device)", setup.text


def _volunteer_pages(client: TestClient, world: World) -> Iterator[tuple[str, str]]:
    care = world.places["mine"]
    log_in(client, "volunteer")
    yield "/my", client.get("/my").text
    _act(client, care.alert_id, "acknowledge")
    for path in (
        "/my?done=acknowledged",
        "/my/live",
        f"/alerts/{care.alert_id}",
        f"/households/alpha/{care.household_id}",
        "/sites/alpha",  # not theirs: the refusal is a page too
    ):
        yield path, client.get(path).text


def _logged_out_pages(client: TestClient) -> Iterator[tuple[str, str]]:
    client.cookies.clear()
    yield "/login", client.get("/login").text
    yield "/login?bye=1", client.get("/login?bye=1").text
    token = login_token(client)
    wrong = {"user_id": "manager", "password": "nope", "login_token": token, "next": "/"}
    yield "POST /login (wrong password)", client.post("/login", data=wrong).text
    expired = {"user_id": "manager", "password": PASSWORD, "login_token": "old", "next": "/"}
    yield "POST /login (expired form)", client.post("/login", data=expired).text
    yield "/no-such-page", client.get("/no-such-page", headers={"Accept": "text/html"}).text


def test_every_page_a_chinese_reader_gets_is_chinese_but_for_the_data(
    world: World, chinese: TestClient
) -> None:
    pages = [
        *_manager_pages(chinese, world),
        *_volunteer_pages(chinese, world),
        *_logged_out_pages(chinese),
    ]
    data = _data_words(world.url)
    english = {path: left for path, page in pages if (left := _english_left(page, data))}
    assert english == {}, "\n".join(f"{path}: {left}" for path, left in english.items())
    # Whole pages say their language (the live parts, swapped into a page, have no <html>).
    assert [path for path, page in pages if "<html" not in page] == [
        "/sites/alpha/live",
        "/alerts/rows?status=all",
        "/my/live",
    ]
    assert [
        path for path, page in pages if "<html" in page and '<html lang="zh-CN"' not in page
    ] == []


def test_the_scan_finds_english_that_is_not_data() -> None:
    page = '<p>3号楼 alpha-mine 待处理</p><p title="Open">pump 水箱</p><p>UTC+08:00</p>'
    assert _english_left(page, ["alpha-mine"]) == ["title='Open'", "pump 水箱"]
