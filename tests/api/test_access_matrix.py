"""Every route of the OpenAPI schema, generated from the app's routes, against every scope rule:
no token -> 401; the volunteer of alpha-mine reaches nothing of another household, of another
site or of the facilities; the manager of alpha reaches nothing of beta. An admin making the
same requests gets through, so each refusal is the scope's doing, not a bad request's.

A new route without a row in CASES fails `test_every_route_has_a_case`.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass, field

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from api.app import create_app
from api.pages.routing import PageRoute
from api.settings import ApiSettings
from store.settings import StoreSettings
from tests.api.conftest import bearer
from tests.api.world import NOW, World

#: Routes anyone may call: health probes and logging in.
PUBLIC = {("GET", "/healthz"), ("POST", "/api/v1/session")}
#: Routes outside the schema, on purpose.
UNDOCUMENTED = {
    ("GET", "/metrics"),
    # Swagger UI and its files (api/docs_page.py): public, as /openapi.json is.
    ("GET", "/docs"),
    ("GET", "/docs/swagger-ui-bundle.js"),
    ("GET", "/docs/swagger-ui.css"),
}
#: Streams are scoped per event: tests/api/test_stream.py checks what each subscriber gets.
STREAMS = {("GET", "/api/v1/stream")}
#: The same for every caller and about no place (its word "facility" is a kind's category, not
#: the world's facility corner): only its authentication is checked here.
CATALOGUES = {("GET", "/api/v1/devices/kinds")}

V = "/api/v1"
BACKTEST = {"start": NOW.replace(year=NOW.year - 1).isoformat(), "end": NOW.isoformat()}


@dataclass(frozen=True)
class Case:
    #: Query variants (templates over the Place's values).
    queries: tuple[dict[str, str], ...] = ({},)
    body: dict[str, object] | None = None


CASES: dict[tuple[str, str], Case] = {
    ("GET", f"{V}/devices"): Case(({}, {"site": "{site_id}"}, {"household": "{household_id}"})),
    ("GET", f"{V}/devices/{{device_id}}"): Case(),
    ("GET", f"{V}/devices/kinds"): Case(),
    ("PATCH", f"{V}/devices/{{device_id}}"): Case(body={"name": "Renamed", "unit": "2"}),
    ("GET", f"{V}/devices/{{device_id}}/latest"): Case(),
    ("GET", f"{V}/devices/{{device_id}}/readings"): Case(({"metric": "{metric}"},)),
    ("GET", f"{V}/devices/{{device_id}}/aggregates"): Case(
        ({"metric": "{metric}"}, {"metric": "{metric}", "bucket_s": "3600"})
    ),
    ("GET", f"{V}/events"): Case(
        ({}, {"site": "{site_id}"}, {"device_id": "{device_id}"}, {"household": "{household_id}"})
    ),
    ("GET", f"{V}/alerts"): Case(({}, {"site": "{site_id}"}, {"household": "{household_id}"})),
    ("GET", f"{V}/alerts/export.csv"): Case(
        ({}, {"site": "{site_id}"}, {"household": "{household_id}"})
    ),
    ("GET", f"{V}/alerts/{{alert_id}}"): Case(),
    ("POST", f"{V}/alerts/{{alert_id}}/acknowledge"): Case(),
    ("POST", f"{V}/alerts/{{alert_id}}/assign"): Case(body={"assignee": "{person_id}"}),
    ("POST", f"{V}/alerts/{{alert_id}}/comments"): Case(body={"text": "Checked the door."}),
    ("POST", f"{V}/alerts/{{alert_id}}/resolve"): Case(body={"note": "Fixed."}),
    ("POST", f"{V}/alerts/{{alert_id}}/outcome"): Case(body={"outcome": "resident_fine"}),
    ("GET", f"{V}/rules"): Case(({}, {"site": "{site_id}"})),
    ("GET", f"{V}/rules/{{rule_id}}"): Case(),
    ("PUT", f"{V}/rules/{{rule_id}}"): Case(
        body={
            "kind": "threshold",
            "site_id": "{site_id}",
            "params": {"metric": "level_pct", "above": 95},
            "category": "maintenance",
            "severity": "info",
        }
    ),
    ("DELETE", f"{V}/rules/{{rule_id}}"): Case(),
    ("POST", f"{V}/rules/{{rule_id}}/enable"): Case(),
    ("POST", f"{V}/rules/{{rule_id}}/disable"): Case(),
    ("POST", f"{V}/rules/{{rule_id}}/backtest"): Case(body=BACKTEST),
    ("GET", f"{V}/rejects"): Case(({}, {"site": "{site_id}"})),
    ("GET", f"{V}/rejects/counts"): Case(({}, {"site": "{site_id}"})),
    ("GET", f"{V}/sites"): Case(),
    ("GET", f"{V}/sites/{{site_id}}"): Case(),
    ("PUT", f"{V}/sites/{{site_id}}"): Case(body={"name": "Renamed", "timezone": "Asia/Shanghai"}),
    ("GET", f"{V}/sites/{{site_id}}/overview"): Case(),
    ("POST", f"{V}/sites/{{site_id}}/devices/import"): Case(
        ({}, {"dry_run": "true"}), body={"devices": [{"device_key": "new-1", "name": "New"}]}
    ),
    ("GET", f"{V}/households"): Case(({}, {"site": "{site_id}"})),
    ("GET", f"{V}/households/{{site_id}}/{{household_id}}"): Case(),
    ("PUT", f"{V}/households/{{site_id}}/{{household_id}}"): Case(
        body={"label": "Room 9", "building_id": "{building_id}"}
    ),
    ("GET", f"{V}/buildings"): Case(({}, {"site": "{site_id}"})),
    ("GET", f"{V}/buildings/{{site_id}}/{{building_id}}"): Case(),
    ("PUT", f"{V}/buildings/{{site_id}}/{{building_id}}"): Case(
        body={"name": "Block 9", "floors": 12}
    ),
    ("GET", f"{V}/people"): Case(),
    ("GET", f"{V}/people/{{person_id}}"): Case(),
    ("POST", f"{V}/people"): Case(
        body={
            "name": "New Volunteer",
            "kind": "volunteer",
            "assignment": {
                "site_id": "{site_id}",
                "household_id": "{household_id}",
                "role": "backup",
            },
        }
    ),
    ("PUT", f"{V}/people/{{person_id}}"): Case(body={"name": "Renamed", "kind": "volunteer"}),
    ("GET", f"{V}/assignments"): Case(
        ({}, {"site": "{site_id}"}, {"household": "{household_id}"}, {"person": "{person_id}"})
    ),
    ("POST", f"{V}/assignments"): Case(
        body={
            "person_id": "{person_id}",
            "site_id": "{site_id}",
            "household_id": "{household_id}",
            "role": "backup",
        }
    ),
    ("DELETE", f"{V}/assignments/{{assignment_id}}"): Case(),
    # Admins only: everyone else is refused whatever the ids (tests/api/test_accounts.py).
    ("GET", f"{V}/users"): Case(),
    ("POST", f"{V}/users/{{user_id}}/deactivate"): Case(),
    ("PUT", f"{V}/users/{{user_id}}/password"): Case(body={"password": "a long new password"}),
    ("GET", f"{V}/tokens"): Case(({}, {"user": "{user_id}"})),
    ("DELETE", f"{V}/tokens/{{token_id}}"): Case(),
    ("GET", f"{V}/me"): Case(),
    ("DELETE", f"{V}/session"): Case(),
    ("GET", f"{V}/stream"): Case(),
    ("GET", "/healthz"): Case(),
    ("POST", f"{V}/session"): Case(body={"user_id": "admin", "password": "correct horse"}),
}

#: Which values of a variant are foreign to the principal (the others are their own).
FOREIGN_PARAMS = {
    "beta": {
        "site_id",
        "household_id",
        "device_id",
        "alert_id",
        "rule_id",
        "person_id",
        "assignment_id",
        "building_id",
    },
    "theirs": {
        "household_id",
        "device_id",
        "alert_id",
        "rule_id",
        "person_id",
        "assignment_id",
        "building_id",
    },
    "facility": {"device_id", "alert_id", "rule_id", "person_id", "building_id"},
}
#: Who is checked, and the corners of the world foreign to them.
PRINCIPALS = {"volunteer": ("theirs", "beta", "facility"), "manager": ("beta",)}


def _schema_routes() -> list[tuple[str, str]]:
    app = create_app(ApiSettings(), StoreSettings())
    return sorted(
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    )


ROUTES = _schema_routes()


def test_every_route_has_a_case() -> None:
    app = create_app(ApiSettings(), StoreSettings())
    undocumented = {
        (method, str(context.path))
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        and not context.include_in_schema
        # Dashboard pages: tests/api/pages/test_page_scoping.py covers each of them.
        and not isinstance(context.original_route, PageRoute)
        for method in context.methods or ()
    }
    assert undocumented == UNDOCUMENTED
    assert set(ROUTES) == set(CASES), "add the new route to CASES (and keep it scoped)"


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@dataclass
class Request:
    method: str
    url: str
    query: dict[str, str]
    body: object | None
    used: set[str] = field(default_factory=set)


def _requests(method: str, path: str, values: dict[str, object]) -> list[Request]:
    case = CASES[(method, path)]
    url = path.format(**values)
    body_text = None if case.body is None else json.dumps(case.body)
    body = None if body_text is None else json.loads(_fill(body_text, values))
    requests = []
    for query in case.queries:
        used = _fields(path) | {f for v in query.values() for f in _fields(v)}
        if body_text is not None:
            used |= _fields(body_text.replace("{}", ""))
        requests.append(
            Request(method, url, {k: v.format(**values) for k, v in query.items()}, body, used)
        )
    return requests


def _fill(text: str, values: dict[str, object]) -> str:
    for name, value in values.items():
        text = text.replace("{" + name + "}", str(value))
    return text


def _send(client: TestClient, request: Request, token: str | None) -> tuple[int, str]:
    headers = bearer(token) if token else {}
    response = client.request(
        request.method,
        request.url,
        params=request.query,
        json=request.body,
        headers=headers,
    )
    return response.status_code, response.text


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_route_is_scoped(method: str, path: str, world: World, client: TestClient) -> None:
    mine = world.places["mine"].values()
    if (method, path) not in PUBLIC:
        for token in (None, "cy_not-a-token"):
            for request in _requests(method, path, mine):
                status, text = _send(client, request, token)
                assert status == 401, (request, status, text)
                assert json.loads(text)["error"]["code"] == "unauthenticated"
    if (method, path) in PUBLIC | STREAMS | CATALOGUES:
        return
    checked = []
    for principal, corners in PRINCIPALS.items():
        for corner in corners:
            values = world.places[corner].values()
            for request in _requests(method, path, values):
                status, text = _send(client, request, world.tokens[principal])
                foreign = request.used & FOREIGN_PARAMS[corner]
                assert status < 500, (principal, request, status, text)
                assert corner not in text, f"{principal} saw {corner}: {request} -> {text}"
                if foreign and method != "GET":
                    assert status in (403, 404, 422), (principal, request, status, text)
                if foreign and status in (403, 404, 422):
                    checked.append((corner, request))
    # The same requests reach their target for an admin: the refusals above were the scope's.
    distinct = {
        (r.method, r.url, json.dumps(r.query), json.dumps(r.body)): (c, r) for c, r in checked
    }
    for corner, request in distinct.values():
        status, text = _send(client, request, world.tokens["admin"])
        assert status not in (401, 403, 404) and status < 500, (request, status, text)
        if request.method == "GET":
            assert status == 200 and corner in text, (request, status, text)
