"""Tests for store/readings/in_flight.py: what a worker records is what its restart reads back."""

from __future__ import annotations

import hashlib

import psycopg

from store.readings import in_flight


def digest(n: int) -> bytes:
    return hashlib.blake2b(bytes([n]), digest_size=in_flight.FINGERPRINT_BYTES).digest()


def test_record_load_and_clear(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        assert in_flight.load(conn, "w1") == in_flight.InFlight(frozenset(), alone=False)
        in_flight.record(conn, "w1", [digest(1), digest(2)], alone=False)
        in_flight.record(conn, "w2", [digest(3)], alone=True)
        assert in_flight.load(conn, "w1") == in_flight.InFlight(
            frozenset({digest(1), digest(2)}), alone=False
        )
        # The next batch replaces the last; each worker has its own record.
        in_flight.record(conn, "w1", [digest(4)], alone=True)
        assert in_flight.load(conn, "w1") == in_flight.InFlight(frozenset({digest(4)}), alone=True)
        in_flight.record(conn, "w1", [], alone=False)
        assert in_flight.load(conn, "w1") == in_flight.InFlight(frozenset(), alone=False)
        in_flight.clear(conn, "w2")
        assert in_flight.load(conn, "w2") == in_flight.InFlight(frozenset(), alone=False)
        assert conn.execute("SELECT worker FROM ingest_in_flight").fetchall() == [("w1",)]
