"""Migration 0015 on a store from before it: every device keeps its rows and facts, and gets a
suggested kind of the catalogue (from what it sent) and a suggested household role."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from store import migrate
from store.devices.catalogue import KINDS
from tests.store.test_migrate import scratch_database

T = datetime(2026, 11, 1, tzinfo=UTC)
BEFORE = "0015"


@pytest.fixture
def store_before(postgres_url: str) -> Iterator[str]:
    """A database migrated up to the last migration before 0015."""
    with scratch_database(postgres_url) as url:
        with psycopg.connect(url, autocommit=True) as conn:
            migrate._ensure_bookkeeping(conn)
            backend = migrate._backend(conn, url, "off")
            for migration in migrate.available_migrations(backend):
                if migration.version < BEFORE:
                    migrate._apply(conn, migration)
        yield url


# (device key, name, old kind, metrics it sent, event types it sent) -> (kind, role, room)
DEVICES = {
    ("b01-door", None, "door_sensor", ("door_open",), ()): ("door_contact", "front_door", None),
    ("hh-1-fridge", "冰箱", "door_sensor", ("door_open",), ()): (
        "door_contact", "other_door", "fridge"),
    ("hh-1-cupboard-door", None, "door_sensor", ("door_open",), ()): (
        "door_contact", "other_door", "cupboard"),
    ("hh-1-mat", "Bed", "motion_sensor", ("occupancy",), ("motion",)): ("bed_sensor", "bed", None),
    ("hh-1-chair", "Seat", "motion_sensor", ("occupancy",), ()): ("seat_sensor", "seat", None),
    ("hh-1-pir-kitchen", None, "motion_sensor", ("occupancy",), ("motion",)): (
        "motion_sensor", "motion", "kitchen"),
    ("hh-1-sos", None, "button", ("battery_pct",), ("sos",)): ("sos_button", "sos", None),
    ("hh-1-kettle", None, "meter", ("power_w", "energy_kwh", "state"), ()): (
        "smart_plug", "appliance", None),
    ("light-07", None, "meter", ("on", "power_w", "energy_kwh"), ()): (
        "street_light", None, None),
    ("meter-1", None, "meter", ("power_w", "energy_kwh"), ()): ("electricity_meter", None, None),
    ("wm-1", None, None, ("water_m3", "flow_lpm"), ()): ("water_meter", None, None),
    ("lift-1", None, "door_sensor", ("trips", "door_open", "floor"), ()): (
        "elevator", None, None),
    ("room-1", None, "equipment_room", ("temperature_c", "humidity_pct"), ()): (
        "room_climate", None, None),
    ("gate-1", None, "card_reader", (), ("access_granted",)): ("gate_reader", None, None),
    ("silent-1", None, None, (), ()): (None, None, None),
    ("custom-1", None, "household_widget", (), ()): ("household_widget", None, None),
}  # fmt: skip


def test_devices_get_suggestions_and_lose_nothing(store_before: str) -> None:
    with psycopg.connect(store_before) as conn:
        conn.execute("INSERT INTO sites (id) VALUES ('court')")
        conn.execute("INSERT INTO households (site_id, id, label) VALUES ('court', 'hh-1', 'h')")
        for key, name, kind, metrics, events in DEVICES:
            device_id = conn.execute(
                "INSERT INTO devices (site_id, device_key, kind, name, first_seen, last_seen,"
                " attrs) VALUES ('court', %s, %s, %s, %s, %s, '{\"fw\": 1}') RETURNING id",
                (key, kind, name, T, T),
            ).fetchone()[0]  # type: ignore[index]
            for metric in metrics:
                series = conn.execute(
                    "INSERT INTO series (device_id, metric) VALUES (%s, %s) RETURNING id",
                    (device_id, metric),
                ).fetchone()[0]  # type: ignore[index]
                conn.execute("INSERT INTO readings VALUES (%s, %s, 1)", (series, T))
            for type_ in events:
                conn.execute("INSERT INTO events (device_id, ts, type) VALUES (%s, %s, %s)",
                             (device_id, T, type_))  # fmt: skip
            if key.startswith("hh-1"):
                conn.execute(
                    "INSERT INTO household_devices (site_id, device_key, household_id)"
                    " VALUES ('court', %s, 'hh-1')",
                    (key,),
                )
        counts_before = _counts(conn)

    report = migrate.run(store_before, timescaledb="off")
    assert "0015_device_facts" in report.applied

    with psycopg.connect(store_before) as conn:
        assert _counts(conn) == counts_before
        rows = conn.execute(
            "SELECT device_key, name, kind, kind_confirmed, role_suggested, role_room_suggested,"
            " first_seen, last_seen, attrs FROM devices"
        ).fetchall()
        found = {r[0]: (r[2], r[4], r[5]) for r in rows}
        expected = {key[0]: facts for key, facts in DEVICES.items()}
        assert found == expected
        assert {(r[1], r[3], r[6], r[7], r[8]["fw"]) for r in rows if r[0] == "hh-1-fridge"} == {
            ("冰箱", False, T, T, 1)
        }
        assert not any(r[3] for r in rows), "a migrated kind is a suggestion"
        roles = dict(
            conn.execute(
                "SELECT device_key, role FROM household_device_roles WHERE household_id = 'hh-1'"
            ).fetchall()
        )
        assert roles["hh-1-fridge"] == "other_door"
        assert roles["hh-1-mat"] == "bed"


def test_the_seeded_catalogue_is_the_one_the_code_knows(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT code, category, household_role FROM device_kinds WHERE builtin"
        ).fetchall()
    assert {code: (category, role) for code, category, role in rows} == {
        k.code: (k.category.value, None if k.household_role is None else k.household_role.value)
        for k in KINDS.values()
    }


def _counts(conn: psycopg.Connection) -> tuple[object, ...]:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM devices), (SELECT count(*) FROM series),"
        " (SELECT count(*) FROM readings), (SELECT count(*) FROM events),"
        " (SELECT count(*) FROM household_devices)"
    ).fetchone()
    assert row is not None
    return tuple(row)
