"""The rules engine's directory read from the store carries each household device's role
(people's, else the suggestion, else the kind's), and the rules compiled against it use them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg.rows import TupleRow

from rules import directory, ruleset
from rules.arrays import view_of
from rules.registry import compile_rules
from rules.rule import RuleState, SignalState
from store.devices import device_edits
from store.readings.writer import BatchWriter
from store.records import DeviceDescription, Event, Message

T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
#: 23:30 in Shanghai: in the default quiet hours (22:00-06:00).
NIGHT = datetime(2026, 11, 28, 15, 30, tzinfo=UTC)


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[TupleRow]]:
    with psycopg.connect(database_url) as connection:
        yield connection


def described(device: str, kind: str, role: str | None, room: str | None = None) -> Message:
    return Message(
        received_at=T0,
        descriptions=(
            DeviceDescription(
                site="court", device=device, attrs={}, name=None, kind=kind, role=role,
                role_room=room,
            ),
        ),
    )  # fmt: skip


def test_the_directory_carries_roles_and_the_defaults_use_them(
    conn: psycopg.Connection[TupleRow],
) -> None:
    writer = BatchWriter()
    writer.write(conn, [described("door-1", "door_contact", None)])  # the kind's role
    writer.write(conn, [described("fridge-1", "door_contact", "other_door", "fridge")])
    writer.write(conn, [described("seat-1", "motion_sensor", "motion")])
    conn.execute("INSERT INTO households (site_id, id, label) VALUES ('court', 'hh', 'h')")
    for key in ("door-1", "fridge-1", "seat-1"):
        conn.execute(
            "INSERT INTO household_devices (site_id, device_key, household_id)"
            " VALUES ('court', %s, 'hh')",
            (key,),
        )
    # A bed mat listed before it first spoke, with the role people gave it.
    conn.execute(
        "INSERT INTO household_devices (site_id, device_key, household_id, role)"
        " VALUES ('court', 'mat-1', 'hh', 'bed')"
    )
    with conn.transaction():
        device_edits.apply_edit(conn, "court", "seat-1", {"name": "Seat", "role": "seat"})
    conn.commit()

    d = directory.load(conn, ["court"])
    roles = {dev: d.role_of("court", dev) for dev in ("door-1", "fridge-1", "seat-1", "mat-1")}
    assert roles == {
        "door-1": "front_door", "fridge-1": "other_door", "seat-1": "seat", "mat-1": "bed"
    }  # fmt: skip
    assert d.household_of("court", "mat-1") == "hh"
    fridge = d.device("court", "fridge-1")
    assert fridge is not None and fridge.role_room == "fridge"

    # The shipped night-door rule, compiled against it: the fridge at 23:30 raises nothing,
    # the front door does.
    compiled, failed = compile_rules(ruleset.default_definitions(), d)
    assert not failed
    (night,) = [c for c in compiled if c.definition.id == "night-door"]
    state: RuleState[object] = night.load_state({})
    fridge = view_of([], [Event("court", "fridge-1", NIGHT, "door_open")])
    signals, state = night.evaluate(fridge, state, NIGHT)
    assert signals == []
    front = view_of([], [Event("court", "door-1", NIGHT, "door_open")])
    signals, state = night.evaluate(front, state, NIGHT)
    assert [(s.subject, s.state) for s in signals] == [("hh", SignalState.FIRING)]
