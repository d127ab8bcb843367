"""The dashboard's pages in the TestClient: logging in and out, each role's home, what the
manager and the volunteer see and do, and errors as pages."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.pages import router as pages
from api.settings import ApiSettings
from store.settings import StoreSettings
from tests.api.pages.browser_session import PASSWORD, csrf_of, log_in, login_token
from tests.api.world import World


def _alert(url: str, alert_id: int) -> dict[str, object]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT status, outcome, assignee, acknowledged_by FROM alerts WHERE id = %s",
            (alert_id,),
        ).fetchone()
    assert row is not None
    return dict(zip(("status", "outcome", "assignee", "acknowledged_by"), row, strict=True))


def _changes(url: str, alert_id: int) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT change, actor FROM alert_changes WHERE alert_id = %s ORDER BY id", (alert_id,)
        ).fetchall()
    return [(str(c), str(a)) for c, a in rows]


def test_wrong_password_shows_an_error_and_no_session(world: World, client: TestClient) -> None:
    token = login_token(client)
    response = client.post(
        "/login",
        data={"user_id": "manager", "password": "nope", "login_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 401
    assert "Wrong user id or password" in response.text
    assert "courtyard_session" not in response.cookies
    assert client.get("/sites/alpha", follow_redirects=False).status_code == 303


def test_login_form_needs_its_token(world: World, client: TestClient) -> None:
    """A login form posted from elsewhere (login CSRF) does not log anyone in."""
    login_token(client)
    forged = client.post(
        "/login",
        data={"user_id": "manager", "password": PASSWORD, "login_token": "forged", "next": "/"},
        follow_redirects=False,
    )
    assert forged.status_code == 403 and "expired" in forged.text
    assert "courtyard_session" not in forged.cookies


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [("/alerts?status=all", "/alerts?status=all"), ("//evil.example/", "/"), ("https://x/", "/")],
)
def test_login_returns_to_a_local_page_only(
    world: World, client: TestClient, next_url: str, expected: str
) -> None:
    token = login_token(client)
    response = client.post(
        "/login",
        data={"user_id": "manager", "password": PASSWORD, "login_token": token, "next": next_url},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == expected
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie


def test_a_page_without_a_session_sends_to_login_and_back(world: World, client: TestClient) -> None:
    response = client.get("/alerts?status=all", follow_redirects=False)
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == ["/alerts?status=all"]


@pytest.mark.parametrize(
    ("user", "home"),
    [
        ("manager", "/sites/alpha"),  # one site: straight to it
        ("admin", "/sites"),
        ("volunteer", "/my"),
        ("operator", "/rejects"),
    ],
)
def test_landing_sends_each_role_home(
    world: World, client: TestClient, user: str, home: str
) -> None:
    log_in(client, user)
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == home
    assert client.get(home).status_code == 200


def test_integration_user_has_no_pages(world: World, client: TestClient) -> None:
    log_in(client, "integration")
    page = client.get("/")
    assert page.status_code == 200 and "no dashboard pages" in page.text


def test_logout_ends_the_session(world: World, client: TestClient) -> None:
    csrf = log_in(client, "manager")
    cookie = client.cookies["courtyard_session"]
    response = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?bye=1"
    assert "logged out" in client.get("/login?bye=1").text
    client.cookies.set("courtyard_session", cookie)
    assert client.get("/sites/alpha", follow_redirects=False).status_code == 303  # dead


def test_manager_overview_shows_the_site_and_only_it(world: World, client: TestClient) -> None:
    log_in(client, "manager")
    page = client.get("/sites/alpha")
    assert page.status_code == 200
    text = page.text
    facility = world.places["facility"]
    assert f'href="/alerts/{facility.alert_id}"' in text
    assert f'href="/devices/{facility.device_id}?metric=level_pct"' in text  # chart link
    assert 'data-live-src="/sites/alpha/live"' in text and "/static/live.js" in text
    assert "beta" not in text
    live = client.get("/sites/alpha/live")
    assert live.status_code == 200 and "<html" not in live.text
    assert f'href="/alerts/{facility.alert_id}"' in live.text
    assert client.get("/sites/beta").status_code == 404


def test_overview_counts_devices_by_state(world: World, client: TestClient) -> None:
    log_in(client, "manager")
    text = client.get("/sites/alpha/live").text
    # alpha: the pump (offline, but alerting counts first) and two motion sensors, online
    # (their households' care alerts are about the households, not the sensors).
    table = text[text.index("<table>") : text.index("</table>")]
    # Each kind links to the site's devices of that kind.
    row = r'<th scope="row"><a href="/sites/alpha/devices\?kind=\w+">([\w ]+)</a></th>'
    rows = dict(re.findall(row + r"((?:<td>\d+</td>)+)", table))
    counts = {kind: [int(n) for n in re.findall(r"\d+", cells)] for kind, cells in rows.items()}
    # columns: alerting, online, offline, unknown, total
    assert counts == {"Booster pump": [1, 0, 0, 0, 1], "Motion sensor": [0, 2, 0, 0, 2]}


def test_device_page_charts_through_the_api_with_the_session(
    world: World, client: TestClient
) -> None:
    log_in(client, "manager")
    device = world.places["facility"].device_id
    page = client.get(f"/devices/{device}?metric=battery_pct&range=7d")
    assert page.status_code == 200
    src = re.search(r'data-src="([^"]+)"', page.text)
    assert src is not None
    url = src.group(1).replace("&amp;", "&")
    assert url.startswith(f"/api/v1/devices/{device}/aggregates?metric=battery_pct")
    data = client.get(url)  # the session cookie is enough for the JSON endpoint
    assert data.status_code == 200
    buckets = data.json()["buckets"]
    assert len(buckets["start"]) > 0 and len(buckets["avg"]) == len(buckets["start"])
    assert "/static/vendor/uplot/uPlot.iife.min.js" in page.text
    assert client.get("/static/vendor/uplot/uPlot.iife.min.js").status_code == 200


def test_device_page_with_days_in_the_wrong_order(world: World, client: TestClient) -> None:
    log_in(client, "manager")
    device = world.places["facility"].device_id
    page = client.get(f"/devices/{device}?from=2024-05-02&to=2024-05-01")
    assert page.status_code == 200 and "must not be after" in page.text
    assert "data-src" not in page.text


def test_manager_acts_on_an_alert(world: World, client: TestClient) -> None:
    csrf = log_in(client, "manager")
    alert = world.places["facility"].alert_id

    def post(action: str, **form: str) -> str:
        response = client.post(
            f"/alerts/{alert}/{action}", data={"csrf_token": csrf, **form}, follow_redirects=False
        )
        assert response.status_code == 303, response.text
        return str(response.headers["location"])

    assert post("acknowledge") == f"/alerts/{alert}?done=acknowledged#alert-{alert}"
    assert post("acknowledge").endswith("done=unchanged#alert-" + str(alert))
    assert "problem=invalid" in post("assign", assignee="beta-facility-manager")
    assert "done=assigned" in post("assign", assignee="alpha-facility-manager")
    assert "done=commented" in post("comment", text="Valve replaced.")
    assert "problem=invalid" in post("comment", text="   ")
    assert "problem=conflict" in post("outcome", outcome="resident_fine")  # not a care alert
    assert "done=resolved" in post("resolve", note="Pressure back to normal.")
    assert "problem=conflict" in post("resolve")
    assert _alert(world.url, alert) == {
        "status": "resolved",
        "outcome": None,
        "assignee": "alpha-facility-manager",
        "acknowledged_by": "user:manager",
    }
    assert [c for c, _ in _changes(world.url, alert)] == [
        "raised",
        "acknowledged",
        "assigned",
        "commented",
        "commented",
        "resolved",
    ]
    page = client.get(f"/alerts/{alert}?problem=conflict")
    assert "Valve replaced." in page.text and "Pressure back to normal." in page.text
    assert "resolved meanwhile" in page.text
    assert 'action="/alerts/' + str(alert) + '/acknowledge"' not in page.text


def test_volunteer_acknowledges_and_records_the_outcome(world: World, client: TestClient) -> None:
    csrf = log_in(client, "volunteer")
    mine, theirs = world.places["mine"], world.places["theirs"]
    page = client.get("/my")
    assert page.status_code == 200
    assert "Room alpha-mine" in page.text and "alpha-theirs" not in page.text
    assert "facility" not in page.text
    assert f'action="/alerts/{mine.alert_id}/acknowledge"' in page.text

    done = client.post(
        f"/alerts/{mine.alert_id}/acknowledge",
        data={"csrf_token": csrf, "next": "/my"},
        follow_redirects=False,
    )
    assert done.headers["location"] == f"/my?done=acknowledged#alert-{mine.alert_id}"
    outcome = client.post(
        f"/alerts/{mine.alert_id}/outcome",
        data={"csrf_token": csrf, "next": "/my", "outcome": "needed_help"},
        follow_redirects=False,
    )
    assert outcome.headers["location"] == f"/my?done=outcome#alert-{mine.alert_id}"
    assert _alert(world.url, mine.alert_id)["outcome"] == "needed_help"
    assert _changes(world.url, mine.alert_id)[-2:] == [
        ("acknowledged", "user:volunteer"),
        ("outcome", "user:volunteer"),
    ]
    after = client.get("/my?done=outcome")
    assert "The outcome is recorded" in after.text
    assert 'aria-pressed="true">Needed help' in after.text

    refused = client.post(
        f"/alerts/{theirs.alert_id}/outcome",
        data={"csrf_token": csrf, "outcome": "resident_fine"},
        follow_redirects=False,
    )
    assert refused.status_code == 404 and "alpha-theirs" not in refused.text
    assert _alert(world.url, theirs.alert_id)["outcome"] is None


def test_household_page_shows_contact_details_and_audits_it(
    world: World, client: TestClient
) -> None:
    log_in(client, "volunteer")
    page = client.get("/households/alpha/alpha-mine")
    assert page.status_code == 200 and 'href="tel:+86-alpha-mine"' in page.text
    with psycopg.connect(world.url) as conn:
        rows = conn.execute(
            "SELECT actor, target FROM audit_log WHERE action = 'household.contact.read'"
        ).fetchall()
    assert rows == [("user:volunteer", "household:alpha/alpha-mine")]
    assert client.get("/households/alpha/alpha-theirs").status_code == 404


def test_rejects_page_counts_and_browses_the_managers_sites(
    world: World, client: TestClient
) -> None:
    log_in(client, "manager")
    page = client.get("/rejects")
    assert page.status_code == 200
    assert "alpha-facility-pump sent bad JSON" in page.text and "beta" not in page.text
    filtered = client.get("/rejects", params={"reason": "alpha-facility-pump sent bad JSON"})
    assert "Messages rejected for" in filtered.text and "{x}" in filtered.text
    assert client.get("/rejects", params={"site": "beta"}).status_code == 404


def test_errors_are_pages_without_details(world: World, client: TestClient) -> None:
    log_in(client, "manager")
    missing = client.get("/alerts/999999")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "not yours to see" in missing.text
    invalid = client.get("/devices/not-a-number")
    assert invalid.status_code == 422 and "<li>Device</li>" in invalid.text
    assert "Traceback" not in invalid.text


def test_volunteer_gets_no_facility_pages(world: World, client: TestClient) -> None:
    log_in(client, "volunteer")
    for path in (
        "/sites",
        "/sites/alpha",
        "/rejects",
        f"/devices/{world.places['facility'].device_id}",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "facility" not in response.text
    own_sensor = client.get(f"/devices/{world.places['mine'].device_id}")
    assert own_sensor.status_code == 200


def test_pages_carry_the_session_csrf_token(world: World, client: TestClient) -> None:
    csrf = log_in(client, "manager")
    page = client.get(f"/alerts/{world.places['facility'].alert_id}")
    assert csrf_of(page.text) == csrf
    assert page.headers["cache-control"] == "no-store"
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy


def test_unknown_addresses_are_a_page_for_browsers_and_json_for_the_api() -> None:
    app = create_app(ApiSettings(), StoreSettings())
    pages.install(app)
    client = TestClient(app, base_url="https://testserver")
    browser = {"Accept": "text/html,application/xhtml+xml", "Accept-Language": "en"}
    page = client.get("/no/such/page", headers=browser)
    assert page.status_code == 404 and "not yours to see" in page.text
    for path, headers in (("/api/v1/no-such-thing", browser), ("/no/such/page", {})):
        answer = client.get(path, headers=headers)
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "not_found"
    assert client.get("/static/no-such-file.js").status_code == 404
