"""Rule definitions through the API: the whole definition round-trips (description, auto_resolve,
notify), a PUT replaces it, bad values answer 422 naming the field, and the rules engine reads
what the API wrote."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.schemas.rules import MAX_DELAY_S, NotifyPolicy
from api.settings import ApiSettings
from courtyard.rule_service import RulesForApi
from rules import directory
from rules.definitions import to_record
from rules.policy import NotifyPolicy as EngineNotifyPolicy
from rules.ruleset import StoredRules, default_definitions
from store.rules import rule_defs
from store.settings import StoreSettings
from tests.api.conftest import bearer
from tests.api.world import World

NOTIFY = {"escalate_after_s": 120.0, "remind_every_s": None, "respect_quiet_hours": False}
#: A definition the test service (tests/api/rule_service.py) accepts.
TANK_HIGH = {
    "kind": "threshold",
    "site_id": "alpha",
    "description": "Tank above 95 %: the inlet valve may be stuck open.",
    "params": {"metric": "level_pct", "above": 95},
    "category": "maintenance",
    "severity": "warning",
    "auto_resolve": False,
    "notify": NOTIFY,
}


def test_a_rule_round_trips_its_whole_definition(world: World, client: TestClient) -> None:
    admin = bearer(world.tokens["admin"])
    created = client.put("/api/v1/rules/tank-high", json=TANK_HIGH, headers=admin)
    assert created.status_code == 201, created.text
    body = created.json()
    assert {k: body[k] for k in TANK_HIGH} == TANK_HIGH
    assert client.get("/api/v1/rules/tank-high", headers=admin).json() == body
    listed = client.get("/api/v1/rules", params={"site": "alpha"}, headers=admin).json()
    assert [r for r in listed if r["id"] == "tank-high"] == [body]

    # Switching it off changes the switch only.
    disabled = client.post("/api/v1/rules/tank-high/disable", headers=admin).json()
    assert disabled | {"enabled": True, "updated_at": body["updated_at"]} == body

    # The same PUT again: 200, nothing moved (not even updated_at, once re-enabled by it).
    again = client.put("/api/v1/rules/tank-high", json=TANK_HIGH, headers=admin)
    assert again.status_code == 200
    assert again.json()["created_at"] == body["created_at"]
    unchanged = client.put("/api/v1/rules/tank-high", json=TANK_HIGH, headers=admin).json()
    assert unchanged == again.json()

    # A PUT replaces the definition: what it leaves out takes the defaults.
    bare = {k: TANK_HIGH[k] for k in ("kind", "site_id", "params", "category", "severity")}
    replaced = client.put("/api/v1/rules/tank-high", json=bare, headers=admin).json()
    assert replaced["description"] == ""
    assert replaced["auto_resolve"] is True
    assert replaced["notify"] == NotifyPolicy().model_dump()


def test_notify_keys_left_out_take_their_defaults(world: World, client: TestClient) -> None:
    admin = bearer(world.tokens["admin"])
    partial = TANK_HIGH | {"notify": {"escalate_after_s": None}}
    body = client.put("/api/v1/rules/tank-high", json=partial, headers=admin).json()
    assert body["notify"] == {
        "escalate_after_s": None,
        "remind_every_s": 3600.0,
        "respect_quiet_hours": True,
    }


def test_the_api_defaults_are_the_engines() -> None:
    assert NotifyPolicy().model_dump() == dataclasses.asdict(EngineNotifyPolicy())


@pytest.mark.parametrize(
    ("notify", "field"),
    [
        ({"escalate_after_s": -5}, "body.notify.escalate_after_s"),
        ({"escalate_after_s": 0}, "body.notify.escalate_after_s"),
        ({"remind_every_s": "hourly"}, "body.notify.remind_every_s"),
        ({"remind_every_s": MAX_DELAY_S + 1}, "body.notify.remind_every_s"),
        ({"respect_quiet_hours": "maybe"}, "body.notify.respect_quiet_hours"),
        ({"escalate_after": 60}, "body.notify.escalate_after"),
        ("soon", "body.notify"),
    ],
)
def test_a_bad_notify_value_names_the_field(
    world: World, client: TestClient, notify: object, field: str
) -> None:
    response = client.put(
        "/api/v1/rules/tank-high",
        json=TANK_HIGH | {"notify": notify},
        headers=bearer(world.tokens["admin"]),
    )
    assert response.status_code == 422, response.text
    assert [f["field"] for f in response.json()["error"]["fields"]] == [field]
    assert (
        client.get("/api/v1/rules/tank-high", headers=bearer(world.tokens["admin"])).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"auto_resolve": "sometimes"}, "body.auto_resolve"),
        ({"description": "x" * 4001}, "body.description"),
        ({"description": "nul\u0000"}, "body"),
    ],
)
def test_bad_description_or_auto_resolve_names_the_field(
    world: World, client: TestClient, change: dict[str, object], field: str
) -> None:
    response = client.put(
        "/api/v1/rules/tank-high", json=TANK_HIGH | change, headers=bearer(world.tokens["admin"])
    )
    assert response.status_code == 422, response.text
    assert [f["field"] for f in response.json()["error"]["fields"]] == [field]


# -- with the rules package's own validation (as `courtyard api` wires it) ----------------------


@pytest.fixture
def rules_client(database_url: str, api_settings: ApiSettings) -> Iterator[TestClient]:
    store = StoreSettings(url=database_url)
    app = create_app(api_settings, store, rule_service=RulesForApi(store))
    with TestClient(app, base_url="https://testserver") as test_client:
        yield test_client


PUMP_LOW = {
    "kind": "threshold",
    "site_id": "alpha",
    "description": "Booster pump current below 4 A while running: dry running.",
    "scope": {"sites": ["beta"], "device_kinds": ["booster_pump"]},
    "params": {"metric": "current_a", "op": "<", "value": 4.0, "hold_s": 50},
    "category": "maintenance",
    "severity": "critical",
    "auto_resolve": False,
    "notify": {"escalate_after_s": 300, "remind_every_s": 900, "respect_quiet_hours": False},
}


def test_the_engine_reads_what_the_api_wrote(
    world: World, rules_client: TestClient, database_url: str
) -> None:
    admin = bearer(world.tokens["admin"])
    response = rules_client.put("/api/v1/rules/pump-current-low", json=PUMP_LOW, headers=admin)
    assert response.status_code == 201, response.text

    with psycopg.connect(database_url) as conn:
        stored = rule_defs.get(conn, "pump-current-low")
        compiled = StoredRules()(conn, directory.load(conn))
    assert stored is not None and stored.site_id == "alpha"
    assert stored.description == PUMP_LOW["description"] and stored.auto_resolve is False
    (rule,) = [c.definition for c in compiled if c.definition.id == "pump-current-low"]
    assert rule.description == PUMP_LOW["description"]
    assert rule.auto_resolve is False
    assert rule.notify == EngineNotifyPolicy(
        escalate_after_s=300.0, remind_every_s=900.0, respect_quiet_hours=False
    )
    # The site it was bound to is where it runs, whatever its scope said.
    assert rule.scope.sites == ("alpha",)
    assert rule.scope.device_kinds == ("booster_pump",)
    assert rule.params["value"] == 4.0


def test_the_engines_validation_names_the_field(world: World, rules_client: TestClient) -> None:
    bad = PUMP_LOW | {"params": {"metric": "current_a", "op": "<", "value": 4.0, "hold_s": -1}}
    response = rules_client.put(
        "/api/v1/rules/pump-current-low", json=bad, headers=bearer(world.tokens["admin"])
    )
    assert response.status_code == 422, response.text
    assert [f["field"] for f in response.json()["error"]["fields"]] == ["body.params.hold_s"]


def test_an_unknown_household_role_in_a_scope_names_the_field(
    world: World, rules_client: TestClient
) -> None:
    bad = PUMP_LOW | {"scope": {"roles": ["front_door", "fridge"]}}
    response = rules_client.put(
        "/api/v1/rules/pump-current-low", json=bad, headers=bearer(world.tokens["admin"])
    )
    assert response.status_code == 422, response.text
    (field,) = response.json()["error"]["fields"]
    assert field["field"] == "body.scope.roles[1]"
    assert "unknown role 'fridge'" in field["message"]


def test_a_rule_from_the_rules_file_shows_what_the_file_set(
    world: World, rules_client: TestClient, database_url: str
) -> None:
    sos = next(d for d in default_definitions() if d.id == "sos")
    with psycopg.connect(database_url) as conn:
        rule_defs.sync(conn, [to_record(sos)])
    body = rules_client.get("/api/v1/rules/sos", headers=bearer(world.tokens["admin"])).json()
    assert body["site_id"] is None
    assert body["description"] == sos.description
    assert body["auto_resolve"] == sos.auto_resolve
    assert body["notify"] == dataclasses.asdict(sos.notify)
