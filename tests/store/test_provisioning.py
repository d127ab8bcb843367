"""store.places.provisioning: buildings and the household's building, as provisioning and the API
write them."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg.rows import TupleRow

from store.places import provisioning

Conn = psycopg.Connection[TupleRow]


@pytest.fixture
def conn(database_url: str) -> Iterator[Conn]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        provisioning.upsert_site(connection, "court", "Court", "Asia/Shanghai")
        provisioning.upsert_site(connection, "river", "River", "UTC")
        yield connection


def _buildings(conn: Conn) -> list[tuple[object, ...]]:
    return conn.execute("SELECT site_id, id, name, floors FROM buildings ORDER BY 1, 2").fetchall()


def _building_of(conn: Conn, household: str) -> object:
    row = conn.execute("SELECT building_id FROM households WHERE id = %s", (household,)).fetchone()
    assert row is not None
    return row[0]


def test_upsert_building_creates_then_replaces(conn: Conn) -> None:
    provisioning.upsert_building(conn, "court", "b01", "Building 1", 18)
    provisioning.upsert_building(conn, "river", "b01", "River 1")  # ids are per site
    assert _buildings(conn) == [
        ("court", "b01", "Building 1", 18),
        ("river", "b01", "River 1", None),
    ]
    provisioning.upsert_building(conn, "court", "b01", "Tower 1", 32)
    provisioning.upsert_building(conn, "river", "b01", "River 1")
    assert _buildings(conn) == [("court", "b01", "Tower 1", 32), ("river", "b01", "River 1", None)]


def test_building_needs_its_site_and_positive_floors(conn: Conn) -> None:
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        provisioning.upsert_building(conn, "nowhere", "b01", "Building 1")
    with pytest.raises(psycopg.errors.CheckViolation):
        provisioning.upsert_building(conn, "court", "b01", "Building 1", 0)
    assert _buildings(conn) == []


def test_household_building_is_kept_replaced_and_cleared(conn: Conn) -> None:
    provisioning.upsert_building(conn, "court", "b01", "Building 1")
    provisioning.upsert_building(conn, "court", "b02", "Building 2")
    provisioning.upsert_household(conn, "court", "h1", "Unit 1-101", building_id="b01")
    provisioning.upsert_household(conn, "court", "h2", "Unit 2-101")  # callers without a building
    assert (_building_of(conn, "h1"), _building_of(conn, "h2")) == ("b01", None)
    provisioning.upsert_household(conn, "court", "h1", "Unit 2-102", building_id="b02")
    assert _building_of(conn, "h1") == "b02"
    provisioning.upsert_household(
        conn, "court", "h1", "Unit 2-102"
    )  # an upsert replaces every field
    assert _building_of(conn, "h1") is None


def test_household_building_belongs_to_the_same_site(conn: Conn) -> None:
    provisioning.upsert_building(conn, "river", "b01", "River 1")
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        provisioning.upsert_household(conn, "court", "h1", "Unit 1-101", building_id="b01")


def test_removing_a_building_keeps_its_households(conn: Conn) -> None:
    provisioning.upsert_building(conn, "court", "b01", "Building 1")
    provisioning.upsert_household(conn, "court", "h1", "Unit 1-101", building_id="b01")
    conn.execute("DELETE FROM buildings WHERE site_id = 'court' AND id = 'b01'")
    assert _building_of(conn, "h1") is None
    label = conn.execute("SELECT label FROM households WHERE id = 'h1'").fetchone()
    assert label == ("Unit 1-101",)
