"""Gateways' descriptions through the writer: a described device is registered silent, its first
message sets first_seen, and suggestions never replace what people confirmed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg.rows import TupleRow

from store.devices import device_edits
from store.devices.roles import HouseholdDeviceRole, household_roles
from store.readings.writer import BatchWriter
from store.records import Alias, DeviceDescription, Message, Reading

T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
SOURCE = "zigbee2mqtt:zigbee2mqtt"


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[TupleRow]]:
    with psycopg.connect(database_url) as connection:
        yield connection


def described(
    device: str, kind: str | None, role: str | None, room: str | None = None, model: str = "M1"
) -> Message:
    return Message(
        received_at=T0,
        descriptions=(
            DeviceDescription(
                site="court",
                device=device,
                attrs={"zigbee2mqtt": {"model": model}},
                name=f"{device} name",
                kind=kind,
                role=role,
                role_room=room,
                alias=Alias(SOURCE, f"{device} name", "court", device),
            ),
        ),
    )


def facts(conn: psycopg.Connection[TupleRow], device: str) -> tuple[object, ...]:
    row = conn.execute(
        "SELECT name, kind, kind_confirmed, role_suggested, role_room_suggested, first_seen,"
        " last_seen, attrs->'zigbee2mqtt'->>'model' FROM devices WHERE device_key = %s",
        (device,),
    ).fetchone()
    assert row is not None
    return tuple(row)


def test_a_described_device_is_silent_until_it_speaks(conn: psycopg.Connection[TupleRow]) -> None:
    writer = BatchWriter()
    writer.write(conn, [described("door-1", "door_contact", "other_door", "fridge")])
    assert facts(conn, "door-1") == (
        "door-1 name", "door_contact", False, "other_door", "fridge", None, None, "M1"
    )  # fmt: skip
    alias = conn.execute("SELECT name FROM device_aliases").fetchall()
    assert alias == [("door-1 name",)]

    writer.write(conn, [Message(T1, readings=(Reading("court", "door-1", "door_open", T1, 1),))])
    assert facts(conn, "door-1")[5:7] == (T1, T1)
    assert facts(conn, "door-1")[:5] == (
        "door-1 name", "door_contact", False, "other_door", "fridge"
    )  # fmt: skip
    # Data before a description: the device keeps its first_seen when described later.
    writer.write(conn, [Message(T0, readings=(Reading("court", "pir-1", "occupancy", T0, 1),))])
    writer.write(conn, [described("pir-1", "motion_sensor", "motion", "kitchen")])
    assert facts(conn, "pir-1")[1:6] == ("motion_sensor", False, "motion", "kitchen", T0)


def test_suggestions_never_replace_what_people_confirmed(
    conn: psycopg.Connection[TupleRow],
) -> None:
    writer = BatchWriter()
    writer.write(conn, [described("mat-1", "motion_sensor", "motion")])
    conn.execute("INSERT INTO households (site_id, id, label) VALUES ('court', 'hh', 'h')")
    with conn.transaction():
        edit = {"name": "Grandma's bed", "kind": "bed_sensor", "household_id": "hh",
                "role": "bed"}  # fmt: skip
        current = device_edits.facts_of(conn, "court", ["mat-1"])["mat-1"]
        assert device_edits.check_edit(conn, "court", current, edit) == []
        device_edits.apply_edit(conn, "court", "mat-1", edit)

    writer.write(conn, [described("mat-1", "seat_sensor", "seat", model="M2")])
    assert facts(conn, "mat-1")[:5] == ("Grandma's bed", "bed_sensor", True, "seat", None)
    assert facts(conn, "mat-1")[7] == "M2"  # the description itself is kept
    role = conn.execute(
        "SELECT role, role_confirmed FROM household_device_roles WHERE device_key = 'mat-1'"
    ).fetchone()
    assert role == ("bed", True)

    # Clearing the kind and role hands them back to the suggestions.
    with conn.transaction():
        device_edits.apply_edit(conn, "court", "mat-1", {"kind": None, "role": None})
    writer.write(conn, [described("mat-1", "seat_sensor", "seat")])
    assert facts(conn, "mat-1")[1:3] == ("seat_sensor", False)
    role = conn.execute(
        "SELECT role, role_confirmed FROM household_device_roles WHERE device_key = 'mat-1'"
    ).fetchone()
    assert role == ("seat", False)


def test_household_roles_read_people_first(conn: psycopg.Connection[TupleRow]) -> None:
    writer = BatchWriter()
    writer.write(conn, [described("fridge-1", "door_contact", "other_door", "fridge")])
    writer.write(conn, [described("door-1", "door_contact", "front_door")])
    conn.execute("INSERT INTO households (site_id, id, label) VALUES ('court', 'hh', 'h')")
    for key in ("fridge-1", "door-1", "not-yet-1"):
        conn.execute(
            "INSERT INTO household_devices (site_id, device_key, household_id)"
            " VALUES ('court', %s, 'hh')",
            (key,),
        )
    with conn.transaction():
        device_edits.apply_edit(
            conn, "court", "door-1", {"role": "other_door", "role_room": "balcony"}
        )
    assert household_roles(conn, ["court"]) == [
        HouseholdDeviceRole("court", "hh", "door-1", "other_door", "balcony", True),
        HouseholdDeviceRole("court", "hh", "fridge-1", "other_door", "fridge", False),
        HouseholdDeviceRole("court", "hh", "not-yet-1", None, None, False),
    ]
    assert household_roles(conn, ["elsewhere"]) == []
