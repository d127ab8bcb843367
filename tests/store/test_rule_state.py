"""store.rules.rule_state: state survives a new connection (an engine restart); upserts and
deletes."""

from __future__ import annotations

import psycopg

from store.rules import rule_state


def test_state_round_trips_across_connections(database_url: str) -> None:
    states: dict[str, object] = {
        "court/tank-1/level_pct": {"pending_since": "2026-11-28T08:00:00Z", "value": 9.5},
        "court/h1": {"baseline": [1, 2, 3], "samples": 40},
        "court/h2": None,
    }
    with psycopg.connect(database_url) as engine:
        assert rule_state.save(engine, "low-level", states) == 3
        assert rule_state.save(engine, "other", {"x": 1}) == 1
    with psycopg.connect(database_url) as restarted:
        assert rule_state.load(restarted, "low-level") == states
        assert rule_state.load(restarted, "missing") == {}


def test_save_replaces_and_delete_forgets(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        rule_state.save(conn, "r", {"a": 1, "b": 2, "c": 3})
        assert rule_state.save(conn, "r", {"b": {"now": "cleared"}}) == 1
        assert rule_state.save(conn, "r", {}) == 0
        assert rule_state.load(conn, "r") == {"a": 1, "b": {"now": "cleared"}, "c": 3}
        assert rule_state.delete(conn, "r", ["a", "zz"]) == 1
        assert rule_state.load(conn, "r") == {"b": {"now": "cleared"}, "c": 3}
        assert rule_state.delete(conn, "r") == 2
        assert rule_state.load(conn, "r") == {}
