"""rules.engine against a real database: batches from the feed become alerts exactly once."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import TupleRow

from rules.clock import EventClock
from rules.directory import Directory
from rules.engine import Engine
from rules.lifecycle import Outcome
from store.readings import feed
from store.readings.writer import BatchWriter
from store.records import Message, Reading
from store.rules import rule_state
from tests.rules.engine.compiled import HIGH_CURRENT

T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
Conn = psycopg.Connection[TupleRow]


@pytest.fixture
def conn(database_url: str) -> Iterator[Conn]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


def currents(values: Sequence[float], start: datetime, site: str = "north") -> Message:
    return Message(
        received_at=start,
        readings=tuple(
            Reading(site, "pump-1", "current_a", start + timedelta(seconds=30 * i), v)
            for i, v in enumerate(values)
        ),
    )


def engine_for(conn: Conn, sites: Sequence[str] = ("north",), on_outcomes: Any = None) -> Engine:
    engine = Engine(conn, EventClock(), on_outcomes)
    engine.set_rules([HIGH_CURRENT], Directory())
    engine.set_sites(sites, gained=sites)
    return engine


def open_alerts(conn: Conn) -> list[tuple[str, int, str]]:
    rows = conn.execute("SELECT dedup_key, occurrences, status FROM alerts ORDER BY id").fetchall()
    return [(str(k), int(n), str(s)) for k, n, s in rows]


def test_a_breach_held_across_batches_raises_one_alert_and_clearing_resolves_it(
    conn: Conn,
) -> None:
    writer = BatchWriter()
    engine = engine_for(conn)  # cursors start at the feed's end: write after this
    writer.write(conn, [currents([10.0, 13.0, 13.5], T0)])
    writer.write(conn, [currents([14.0, 14.2], T0 + timedelta(seconds=90))])
    assert engine.poll(10) == 2
    assert open_alerts(conn) == [("pump-current-high:north/pump-1:current_a", 1, "open")]
    writer.write(conn, [currents([11.0], T0 + timedelta(minutes=5))])
    engine.poll(10)
    assert open_alerts(conn) == [("pump-current-high:north/pump-1:current_a", 1, "resolved")]
    assert feed.cursors(conn, ["north"]) == {"north": 3}


def test_a_restarted_engine_resumes_from_the_committed_state_and_cursor(conn: Conn) -> None:
    writer = BatchWriter()
    first = engine_for(conn)
    writer.write(conn, [currents([13.0, 13.0], T0)])  # pending: 30 s of a 60 s hold
    first.poll(10)
    assert open_alerts(conn) == []
    assert rule_state.load(conn, "pump-current-high")  # the pending hold was saved
    writer.write(conn, [currents([13.0, 13.0], T0 + timedelta(seconds=60))])

    second = engine_for(conn)  # a new process: state and cursor come from the store
    assert second.poll(10) == 1
    assert open_alerts(conn) == [("pump-current-high:north/pump-1:current_a", 1, "open")]
    assert second.poll(10) == 0


def test_a_failure_before_commit_leaves_the_batch_unconsumed_and_the_retry_raises_once(
    conn: Conn,
) -> None:
    calls: list[int] = []

    def fail_once(c: Conn, outcomes: Sequence[Outcome], now: datetime) -> None:
        calls.append(len(outcomes))
        if len(calls) == 1:
            raise RuntimeError("notification fan-out failed")

    writer = BatchWriter()
    engine = engine_for(conn, on_outcomes=fail_once)
    writer.write(conn, [currents([13.0, 13.0, 13.0, 13.0], T0)])
    with pytest.raises(RuntimeError):
        engine.poll(10)
    assert open_alerts(conn) == []
    assert feed.cursors(conn, ["north"]) == {"north": 0}
    assert engine_for(conn, on_outcomes=fail_once).poll(10) == 1
    assert open_alerts(conn) == [("pump-current-high:north/pump-1:current_a", 1, "open")]
    assert calls == [1, 1]


def test_an_engine_evaluates_only_its_own_sites(conn: Conn) -> None:
    writer = BatchWriter()
    north, south = engine_for(conn, ["north"]), engine_for(conn, ["south"])
    writer.write(
        conn,
        [currents([13.0] * 4, T0, site="north"), currents([13.0] * 4, T0, site="south")],
    )
    north.poll(10)
    assert [k for k, *_ in open_alerts(conn)] == ["pump-current-high:north/pump-1:current_a"]
    assert conn.execute("SELECT site_id FROM alerts").fetchall() == [("north",)]
    assert feed.cursors(conn, ["north", "south"]) == {"north": 1, "south": 0}
    south.poll(10)
    assert sorted(conn.execute("SELECT site_id FROM alerts").fetchall()) == [
        ("north",),
        ("south",),
    ]


def test_a_quiet_site_neither_stalls_reading_nor_holds_its_cursor_back(conn: Conn) -> None:
    writer = BatchWriter()
    engine = engine_for(conn, ["north", "quiet"])
    for i in range(5):
        writer.write(conn, [currents([10.0], T0 + timedelta(minutes=i))])
    assert engine.poll(2) == 2  # pages of two: 1-2, 3-4, 5
    assert engine.poll(2) == 2
    assert engine.poll(2) == 1
    assert engine.poll(2) == 0
    assert feed.cursors(conn, ["north", "quiet"]) == {"north": 5, "quiet": 5}
