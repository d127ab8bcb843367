"""Every dashboard page route, generated from the page router, against the same scope rules as
the JSON API (tests/api/test_access_matrix.py): without a session the browser is sent to the
login form; the volunteer of alpha-mine reaches nothing of another household, another site or
the facilities; the manager of alpha nothing of beta; forms without the session's CSRF token
change nothing. An admin making the same requests gets through, so each refusal is the
scope's doing.

A new page route without a row in CASES fails `test_every_page_route_has_a_case`.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field

import psycopg
import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from api.pages import router as pages
from tests.api.pages.browser_session import log_in
from tests.api.world import World

#: Pages anyone may open: the login form and its post.
PUBLIC = {("GET", "/login"), ("POST", "/login")}


@dataclass(frozen=True)
class Case:
    #: Query variants (templates over the Place's values), or the form of a POST.
    queries: tuple[dict[str, str], ...] = ({},)
    form: dict[str, str] | None = None


CASES: dict[tuple[str, str], Case] = {
    ("GET", "/"): Case(),
    ("GET", "/login"): Case(),
    ("POST", "/login"): Case(form={}),
    ("POST", "/logout"): Case(form={}),
    ("POST", "/language"): Case(form={"language": "en", "next": "/"}),
    ("GET", "/sites"): Case(),
    ("GET", "/sites/{site_id}"): Case(),
    ("GET", "/sites/{site_id}/live"): Case(),
    ("GET", "/devices/{device_id}"): Case(({}, {"metric": "{metric}", "range": "7d"})),
    ("GET", "/alerts"): Case(({}, {"site": "{site_id}"}, {"site": "{site_id}", "status": "all"})),
    ("GET", "/alerts/rows"): Case(({}, {"site": "{site_id}"}, {"status": "all"})),
    ("GET", "/alerts/export.csv"): Case(({}, {"site": "{site_id}"}, {"status": "all"})),
    ("POST", "/alerts/bulk"): Case(form={"action": "acknowledge", "alert": "{alert_id}"}),
    ("GET", "/alerts/{alert_id}"): Case(),
    ("POST", "/alerts/{alert_id}/acknowledge"): Case(form={}),
    ("POST", "/alerts/{alert_id}/assign"): Case(form={"assignee": "{person_id}"}),
    ("POST", "/alerts/{alert_id}/comment"): Case(form={"text": "Checked the door."}),
    ("POST", "/alerts/{alert_id}/resolve"): Case(form={"note": "Fixed."}),
    ("POST", "/alerts/{alert_id}/outcome"): Case(form={"outcome": "resident_fine"}),
    ("GET", "/rejects"): Case(({}, {"site": "{site_id}"})),
    ("GET", "/my"): Case(),
    ("GET", "/my/live"): Case(),
    ("GET", "/households/{site_id}/{household_id}"): Case(),
    ("GET", "/sites/{site_id}/devices"): Case(
        ({}, {"q": "motion", "kind": "motion_sensor", "state": "online"})
    ),
    ("GET", "/devices/{device_id}/edit"): Case(),
    ("POST", "/devices/{device_id}/edit"): Case(form={"name": "Renamed", "room": "101"}),
    ("GET", "/households/{site_id}/{household_id}/setup"): Case(),
    ("POST", "/households/{site_id}/{household_id}/setup"): Case(form={"add_role": "bed"}),
}

#: Which values of a corner are foreign to the principal (the others are their own).
FOREIGN_PARAMS = {
    "beta": {"site_id", "household_id", "device_id", "alert_id", "person_id"},
    "theirs": {"household_id", "device_id", "alert_id", "person_id"},
    "facility": {"device_id", "alert_id"},
}
#: Who is checked, and the corners of the world foreign to them.
PRINCIPALS = {"volunteer": ("theirs", "beta", "facility"), "manager": ("beta",)}


def _page_routes() -> list[tuple[str, str]]:
    return sorted(
        (method, str(context.path))
        for context in iter_route_contexts(pages.router.routes)
        for method in context.methods or ()
        if method != "HEAD"
    )


ROUTES = _page_routes()


def test_every_page_route_has_a_case() -> None:
    assert set(ROUTES) == set(CASES), "add the new page to CASES (and keep it scoped)"


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@dataclass
class Request:
    method: str
    url: str
    query: dict[str, str]
    form: dict[str, str] | None
    used: set[str] = field(default_factory=set)


def _requests(method: str, path: str, values: dict[str, object]) -> list[Request]:
    case = CASES[(method, path)]
    url = path.format(**values)
    form = None if case.form is None else {k: v.format(**values) for k, v in case.form.items()}
    form_fields = {f for v in (case.form or {}).values() for f in _fields(v)}
    return [
        Request(
            method,
            url,
            {k: v.format(**values) for k, v in query.items()},
            form,
            _fields(path) | {f for v in query.values() for f in _fields(v)} | form_fields,
        )
        for query in case.queries
    ]


def _send(client: TestClient, request: Request, csrf: str | None) -> tuple[int, str, str]:
    form = None if request.form is None else dict(request.form)
    if form is not None and csrf is not None:
        form["csrf_token"] = csrf
    response = client.request(
        request.method, request.url, params=request.query, data=form, follow_redirects=False
    )
    return response.status_code, response.headers.get("location", ""), response.text


def _history(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT id, alert_id, change FROM alert_changes ORDER BY id").fetchall()


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_page_is_scoped(method: str, path: str, world: World, client: TestClient) -> None:
    mine = world.places["mine"].values()
    if (method, path) in PUBLIC:
        return
    client.cookies.clear()
    for request in _requests(method, path, mine):
        status, location, text = _send(client, request, None)
        assert status == 303 and location.startswith("/login"), (request, status, text)

    checked: list[tuple[str, Request]] = []
    for principal, corners in PRINCIPALS.items():
        csrf = log_in(client, principal)
        for corner in corners:
            values = world.places[corner].values()
            for request in _requests(method, path, values):
                before = _history(world.url)
                status, location, text = _send(client, request, csrf)
                foreign = request.used & FOREIGN_PARAMS[corner]
                assert status < 500, (principal, request, status, text)
                assert corner not in text + location, f"{principal} saw {corner}: {request}"
                assert "Traceback" not in text
                if foreign and method == "POST":
                    assert status in (403, 404), (principal, request, status, text)
                    assert _history(world.url) == before, "a refused form changed an alert"
                if foreign and status in (403, 404):
                    assert "<html" in text, "refusals are pages"
                    checked.append((corner, request))
    # The same requests reach their target for an admin: the refusals above were the scope's.
    admin_csrf = log_in(client, "admin")
    for corner, request in checked:
        status, location, text = _send(client, request, admin_csrf)
        assert status not in (401, 403, 404) and status < 500, (request, status, text)
        if request.method == "GET":
            assert status == 200 and corner in text, (request, status)


POSTS = [(m, p) for m, p in ROUTES if m == "POST" and (m, p) not in PUBLIC]


@pytest.mark.parametrize(("method", "path"), POSTS, ids=[f"{m} {p}" for m, p in POSTS])
def test_forms_need_the_csrf_token(
    method: str, path: str, world: World, client: TestClient
) -> None:
    log_in(client, "admin")
    for request in _requests(method, path, world.places["facility"].values()):
        for csrf in (None, "forged-token"):
            before = _history(world.url)
            status, _, text = _send(client, request, csrf)
            assert status == 403, (request, status, text)
            assert "The form has expired" in text, text
            assert _history(world.url) == before
    # The session is still alive and its pages work: only the forms were refused.
    assert client.get("/alerts").status_code == 200
