"""store.readings.history: stored readings come back as columns, events as records, chunk by
chunk."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
from psycopg.rows import TupleRow

from store.readings import history
from store.readings.writer import BatchWriter
from store.records import Event, Message, Reading

T0 = datetime(2025, 3, 3, 0, 0, tzinfo=UTC)


def _write(
    conn: psycopg.Connection[TupleRow], readings: Sequence[Reading], events: Sequence[Event] = ()
) -> None:
    BatchWriter(feed_enabled=False).write(
        conn, [Message(received_at=T0, readings=tuple(readings), events=tuple(events))]
    )


def _fixture(conn: psycopg.Connection[TupleRow]) -> None:
    readings = [
        Reading(site, device, metric, T0 + timedelta(minutes=m), float(m) + offset)
        for site, device, metric, offset in (
            ("north", "pump-01", "pressure_bar", 0.0),
            ("north", "pump-01", "current_a", 100.0),
            ("south", "tank-01", "level_pct", 1000.0),
        )
        for m in range(0, 24 * 60, 10)
    ]
    events = [
        Event("north", "pump-01", T0 + timedelta(hours=h, seconds=5), "pump_start", None, {"n": h})
        for h in range(24)
    ] + [Event("south", "gate-01", T0 + timedelta(hours=7), "access_denied", "card:1")]
    _write(conn, readings, events)


def test_series_names_by_site_and_metric(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        _fixture(conn)
        every = history.series_names(conn)
        assert sorted(every.values()) == [
            ("north", "pump-01", "current_a"),
            ("north", "pump-01", "pressure_bar"),
            ("south", "tank-01", "level_pct"),
        ]
        assert list(history.series_names(conn, ["south"]).values()) == [
            ("south", "tank-01", "level_pct")
        ]
        assert list(history.series_names(conn, None, ["current_a"]).values()) == [
            ("north", "pump-01", "current_a")
        ]
        assert history.series_names(conn, ["nowhere"]) == {}


def test_readings_come_back_as_columns_exactly(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        _fixture(conn)
        names = history.series_names(conn, ["north"], ["pressure_bar"])
        (sid,) = names
        start, end = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
        cols = history.read_readings(conn, [sid], start, end)
        order = np.argsort(cols.epochs)
        # start <= ts < end: 01:00 .. 01:50 every 10 min.
        assert cols.epochs[order].tolist() == [
            (start + timedelta(minutes=m)).timestamp() for m in range(0, 60, 10)
        ]
        assert cols.values[order].tolist() == [float(m) for m in range(60, 120, 10)]
        assert set(cols.series_ids.tolist()) == {sid}
        assert [r.value for r in sorted(cols.records(names), key=lambda r: r.ts)][:2] == [
            60.0,
            70.0,
        ]
        assert len(history.read_readings(conn, None, start, end)) == 18
        assert len(history.read_readings(conn, [], start, end)) == 0
        assert len(history.read_readings(conn, [sid], end, end)) == 0


def test_chunks_cover_the_window_once(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        _fixture(conn)
        names = history.series_names(conn, ["north"])
        start, end = T0 + timedelta(hours=3), T0 + timedelta(hours=20, minutes=5)
        chunks = list(
            history.chunks(conn, start, end, series=list(names), sites=["north"], chunk_s=6 * 3600)
        )
        assert [(c.start, c.end) for c in chunks] == [
            (start, start + timedelta(hours=6)),
            (start + timedelta(hours=6), start + timedelta(hours=12)),
            (start + timedelta(hours=12), end),
        ]
        epochs = np.concatenate([c.readings.epochs for c in chunks])
        assert epochs.size == 2 * 103  # two series, 03:00 .. 20:00 every 10 min
        assert np.unique(epochs).size == 103
        assert epochs.min() == start.timestamp() and epochs.max() < end.timestamp()
        for c in chunks:
            assert (c.readings.epochs >= c.start.timestamp()).all()
            assert (c.readings.epochs < c.end.timestamp()).all()
        events = [e for c in chunks for e in c.events]
        assert [e.ts.hour for e in events] == list(range(3, 21))
        assert {(e.site, e.device, e.type) for e in events} == {("north", "pump-01", "pump_start")}
        assert events[0].attrs == {"n": 3} and events[0].subject is None


def test_events_filtered_by_site_and_type(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        _fixture(conn)
        day = (T0, T0 + timedelta(days=1))
        (denied,) = history.read_events(conn, *day, types=["access_denied"])
        assert (denied.site, denied.device, denied.subject) == ("south", "gate-01", "card:1")
        assert len(history.read_events(conn, *day, sites=["south"])) == 1
        assert len(history.read_events(conn, *day, sites=["north"], types=[])) == 0
        assert len(history.read_events(conn, *day)) == 25


def test_parallel_chunks_are_the_same_chunks_in_the_same_order(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        _fixture(conn)
        start, end = T0 + timedelta(minutes=5), T0 + timedelta(hours=23)
        serial = list(history.chunks(conn, start, end, chunk_s=3600))
    parallel = list(
        history.chunks_parallel(
            lambda: psycopg.connect(database_url), start, end, chunk_s=3600, readers=3
        )
    )
    assert [(c.start, c.end) for c in parallel] == [(c.start, c.end) for c in serial]
    for a, b in zip(serial, parallel, strict=True):
        assert a.events == b.events
        for column in ("series_ids", "epochs", "values"):
            key = np.lexsort((a.readings.epochs, a.readings.series_ids))
            other = np.lexsort((b.readings.epochs, b.readings.series_ids))
            assert getattr(a.readings, column)[key].tolist() == (
                getattr(b.readings, column)[other].tolist()
            )
    assert sum(len(c.readings) for c in parallel) == 3 * (23 * 6 - 1)
