"""store.rules.rule_defs: sync reports inserted/updated/unchanged, keeps people's enabled switch;
the row shape is the table; a site binding is a rule's only site."""

from __future__ import annotations

import dataclasses

import psycopg
import pytest

from store.places import provisioning
from store.rules import rule_defs
from store.rules.rule_defs import RuleRecord, StoredRule, SyncReport, scope_with_site

PUMP = RuleRecord(
    id="pump-pressure-low",
    kind="threshold",
    category="maintenance",
    severity="critical",
    description="Pressure below 2 bar.",
    scope={"sites": ["sunny-court"], "devices": []},
    params={"metric": "pressure_bar", "op": "<", "value": 2.0},
    notify={"escalate_after_s": None, "remind_every_s": 3600.0},
)
SOS = RuleRecord(
    id="sos", kind="emergency", category="care", severity="critical", auto_resolve=False
)


def test_sync_inserts_updates_and_leaves_unchanged(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        assert rule_defs.sync(conn, [SOS, PUMP]) == SyncReport(
            inserted=("pump-pressure-low", "sos")
        )
        stored = rule_defs.get(conn, "pump-pressure-low")
        assert stored is not None
        assert dataclasses.asdict(stored) | {"created_at": None, "updated_at": None} == (
            dataclasses.asdict(PUMP) | {"created_at": None, "updated_at": None}
        )
        # The same content, its JSON keys in another order: unchanged.
        same = dataclasses.replace(PUMP, params={"value": 2.0, "op": "<", "metric": "pressure_bar"})
        changed = dataclasses.replace(SOS, description="Pressed.")
        assert rule_defs.sync(conn, [same, changed]) == SyncReport(
            updated=("sos",), unchanged=("pump-pressure-low",)
        )
        got = rule_defs.get(conn, "sos")
        assert got is not None and got.description == "Pressed." and got.auto_resolve is False
        assert got.updated_at is not None and got.created_at is not None
        assert got.updated_at >= got.created_at


def test_sync_keeps_the_enabled_switch_unless_told(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        rule_defs.sync(conn, [PUMP])
        assert rule_defs.set_enabled(conn, PUMP.id, False)
        assert rule_defs.sync(conn, [PUMP]) == SyncReport(unchanged=(PUMP.id,))
        stored = rule_defs.get(conn, PUMP.id)
        assert stored is not None and stored.enabled is False
        assert rule_defs.sync(conn, [PUMP], overwrite_enabled=True) == SyncReport(
            updated=(PUMP.id,)
        )
        stored = rule_defs.get(conn, PUMP.id)
        assert stored is not None and stored.enabled is True


def test_list_set_enabled_and_delete(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        rule_defs.sync(conn, [SOS, PUMP])
        assert [r.id for r in rule_defs.list_all(conn)] == ["pump-pressure-low", "sos"]
        assert rule_defs.set_enabled(conn, "missing", True) is False
        assert rule_defs.delete(conn, "sos") is True
        assert rule_defs.delete(conn, "sos") is False
        assert rule_defs.get(conn, "sos") is None
        assert [r.id for r in rule_defs.list_all(conn)] == ["pump-pressure-low"]


def test_sync_rolls_back_as_a_whole(database_url: str) -> None:
    bad = dataclasses.replace(SOS, id="zzz", severity="loud")  # refused by the CHECK constraint
    with psycopg.connect(database_url) as conn:
        try:
            rule_defs.sync(conn, [PUMP, bad])
        except psycopg.errors.CheckViolation:
            pass
        else:
            raise AssertionError("a bad severity must be refused")
        conn.rollback()
        assert rule_defs.list_all(conn) == []


def test_the_row_shape_is_the_table(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        columns = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'rules'"
        ).fetchall()
    assert {c for (c,) in columns} == {f.name for f in dataclasses.fields(StoredRule)}


def test_site_id_is_written_and_a_file_without_it_unbinds(database_url: str) -> None:
    bound = dataclasses.replace(PUMP, site_id="sunny-court")
    with psycopg.connect(database_url) as conn:
        provisioning.upsert_site(conn, "sunny-court", "Sunny Court", "Asia/Shanghai")
        assert rule_defs.sync(conn, [bound]) == SyncReport(inserted=(PUMP.id,))
        stored = rule_defs.get(conn, PUMP.id)
        assert stored is not None and stored.site_id == "sunny-court"
        assert rule_defs.sync(conn, [bound]) == SyncReport(unchanged=(PUMP.id,))
        # A rules file names its sites in the scope: syncing it replaces the binding.
        assert rule_defs.sync(conn, [PUMP]) == SyncReport(updated=(PUMP.id,))
        stored = rule_defs.get(conn, PUMP.id)
        assert stored is not None and stored.site_id is None


@pytest.mark.parametrize(
    ("scope", "site_id", "expected"),
    [
        ({}, None, {}),
        (
            {"sites": ["a", "b"], "device_kinds": ["pump"]},
            None,
            {"sites": ["a", "b"], "device_kinds": ["pump"]},
        ),
        ({}, "a", {"sites": ["a"]}),
        ({"sites": ["b"], "households": ["h1"]}, "a", {"sites": ["a"], "households": ["h1"]}),
    ],
)
def test_a_site_binding_is_the_only_site(
    scope: dict[str, object], site_id: str | None, expected: dict[str, object]
) -> None:
    assert scope_with_site(scope, site_id) == expected
