"""Errors are JSON with a clear message: 422 names the field, a bug answers a plain 500."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient

from api.app import create_app
from api.services import BacktestSignal, FieldError
from api.settings import ApiSettings
from store.rules.rule_defs import RuleRecord
from store.settings import StoreSettings
from tests.api.conftest import bearer
from tests.api.world import World


def test_invalid_parameters_name_the_field(world: World, client: TestClient) -> None:
    admin = bearer(world.tokens["admin"])
    response = client.get("/api/v1/alerts", params={"limit": 0}, headers=admin)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert [f["field"] for f in error["fields"]] == ["query.limit"]
    assert "query.limit" in error["message"]

    bad_cursor = client.get("/api/v1/alerts", params={"cursor": "bm90IG1pbmU"}, headers=admin)
    assert bad_cursor.json()["error"]["fields"][0]["field"] == "query.cursor"
    naive = client.get(
        f"/api/v1/devices/{world.places['mine'].device_id}/readings",
        params={"metric": "level_pct", "start": "2026-01-01T00:00:00"},
        headers=admin,
    )
    assert naive.status_code == 422
    assert naive.json()["error"]["fields"][0]["field"] == "query.start"
    nul = client.put(
        "/api/v1/households/alpha/alpha-mine",
        json={"label": "Room", "contact": {"note": "a\u0000b"}},
        headers=admin,
    )
    assert nul.status_code == 422 and "contact.note" in nul.text


class BrokenRules:
    def validate(self, definition: RuleRecord) -> list[FieldError]:
        raise RuntimeError("secret internals /etc/passwd")

    def event_types_used(self, definition: RuleRecord) -> frozenset[str] | None:
        raise AssertionError("not reached")

    def backtest(
        self, definition: RuleRecord, start: datetime, end: datetime
    ) -> list[BacktestSignal]:
        raise AssertionError("not reached")


def test_a_bug_answers_500_json_without_a_traceback(
    world: World, database_url: str, api_settings: ApiSettings
) -> None:
    app = create_app(api_settings, StoreSettings(url=database_url), rule_service=BrokenRules())
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        response = client.put(
            "/api/v1/rules/new-rule",
            json={"kind": "threshold", "category": "maintenance", "severity": "info"},
            headers=bearer(world.tokens["admin"]),
        )
    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "code": "internal_error",
            "message": "Something went wrong on our side.",
            "fields": [],
        }
    }
    assert "passwd" not in response.text and "Traceback" not in response.text


def test_rule_validation_and_backtest(world: World, client: TestClient) -> None:
    admin = bearer(world.tokens["admin"])
    invalid = client.put(
        "/api/v1/rules/tank-high",
        json={
            "kind": "threshold",
            "site_id": "alpha",
            "params": {"metric": "level_pct", "above": "high"},
            "category": "maintenance",
            "severity": "warning",
        },
        headers=admin,
    )
    assert invalid.status_code == 422
    assert invalid.json()["error"]["fields"] == [
        {"field": "body.params.above", "message": "must be a number"}
    ]
    created = client.put(
        "/api/v1/rules/tank-high",
        json={
            "kind": "threshold",
            "site_id": "alpha",
            "params": {"metric": "level_pct", "above": 55},
            "category": "maintenance",
            "severity": "warning",
        },
        headers=admin,
    )
    assert created.status_code == 201
    assert client.post("/api/v1/rules/tank-high/disable", headers=admin).json()["enabled"] is False
    backtest = client.post(
        "/api/v1/rules/tank-high/backtest",
        json={"start": "2020-01-01T00:00:00Z", "end": "2030-01-01T00:00:00Z"},
        headers=admin,
    )
    assert backtest.status_code == 422  # longer than a year
    window = {"start": "2026-01-01T00:00:00Z", "end": "2026-12-31T00:00:00Z"}
    signals = client.post("/api/v1/rules/tank-high/backtest", json=window, headers=admin)
    assert signals.status_code == 200
    states = [s["state"] for s in signals.json()["signals"]]
    assert states and states[0] == "firing"  # the world's readings reach 56 > 55
    assert {s["site_id"] for s in signals.json()["signals"]} <= {"alpha"}
    assert client.delete("/api/v1/rules/tank-high", headers=admin).status_code == 204
    assert client.get("/api/v1/rules/tank-high", headers=admin).status_code == 404
