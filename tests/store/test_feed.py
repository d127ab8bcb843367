"""store.readings.feed: every committed batch is in the feed, in commit order; cursors and
pruning."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import TupleRow

from store.readings import feed
from store.readings.writer import BatchWriter
from store.records import Event, Message, Reading, StatusChange
from tests.support.waiting import wait_for

T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[TupleRow]]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


def message(site: str, device: str, values: list[float], start: datetime = T0) -> Message:
    return Message(
        received_at=start,
        readings=tuple(
            Reading(site, device, "level_pct", start + timedelta(minutes=i), v)
            for i, v in enumerate(values)
        ),
    )


def test_a_batch_is_in_the_feed_with_its_readings_events_and_status_changes(
    conn: psycopg.Connection[TupleRow],
) -> None:
    BatchWriter().write(
        conn,
        [
            message("north", "tank-1", [50.0, 49.5]),
            Message(
                received_at=T0,
                events=(Event("south", "door-1", T0, "door_open", "card:1", {"n": 1}),),
                statuses=(StatusChange("south", "door-1", T0, False),),
            ),
        ],
    )
    (batch,) = feed.read_after(conn, 0, ["north", "south"], 10)
    assert batch.sites == ("north", "south")
    assert batch.epochs.tolist() == [T0.timestamp(), T0.timestamp() + 60]
    assert batch.values.tolist() == [50.0, 49.5]
    names = feed.series_names(conn, set(batch.series_ids.tolist()))
    assert set(names.values()) == {("north", "tank-1", "level_pct")}
    ((device_id, epoch, type_, subject, attrs),) = batch.events
    assert feed.device_names(conn, [device_id]) == {device_id: ("south", "door-1")}
    assert (epoch, type_, subject, attrs) == (T0.timestamp(), "door_open", "card:1", {"n": 1})
    # The status carries where it arrived among the data: after the tank's newest reading.
    assert batch.statuses == (
        StatusChange("south", "door-1", T0, False, data_before=T0.timestamp() + 60),
    )
    assert feed.read_after(conn, 0, ["east"], 10) == []
    assert feed.read_after(conn, batch.id, ["north"], 10) == []


def test_a_listener_hears_each_stored_batch(
    conn: psycopg.Connection[TupleRow], database_url: str
) -> None:
    with psycopg.connect(database_url, autocommit=True) as listener:
        feed.listen(listener)
        BatchWriter().write(conn, [message("north", "tank-1", [50.0])])  # commits
        (note,) = listener.notifies(timeout=5, stop_after=1)
    assert note.channel == feed.CHANNEL
    assert int(note.payload) == feed.latest_id(conn)


def test_a_batch_with_nothing_new_for_rules_adds_no_feed_row(
    conn: psycopg.Connection[TupleRow],
) -> None:
    BatchWriter().write(conn, [Message(received_at=T0)])
    assert feed.latest_id(conn) == 0


def test_feed_ids_become_visible_in_commit_order(database_url: str) -> None:
    """A batch that got its id first but commits last must not be skipped by a cursor: appends
    are serialised until commit, so a later id is never visible before an earlier one."""
    with (
        psycopg.connect(database_url) as first,
        psycopg.connect(database_url) as second,
        psycopg.connect(database_url, autocommit=True) as watcher,
    ):
        writer = BatchWriter()
        tx = first.transaction()
        tx.__enter__()
        with first.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (feed._APPEND_LOCK,))
        done = threading.Event()

        def write_second() -> None:
            BatchWriter().write(second, [message("north", "tank-2", [1.0])])
            done.set()

        thread = threading.Thread(target=write_second)
        thread.start()
        # The second writer waits for the lock the first transaction holds.
        wait_for(
            lambda: (
                watcher.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                ).fetchone()
                == (1,)
            ),
            timeout_s=10,
        )
        assert not done.is_set()
        assert feed.latest_id(watcher) == 0
        tx.__exit__(None, None, None)
        first.commit()
        thread.join(10)
        assert done.is_set()
        writer.write(first, [message("north", "tank-3", [2.0])])
        batches = feed.read_after(watcher, 0, ["north"], 10)
        assert [b.id for b in batches] == sorted(b.id for b in batches)
        assert len(batches) == 2


def test_a_site_never_evaluated_starts_before_its_first_batch_and_cursors_only_advance(
    conn: psycopg.Connection[TupleRow],
) -> None:
    writer = BatchWriter()
    writer.write(conn, [message("north", "tank-1", [1.0])])
    writer.write(conn, [message("south", "tank-9", [3.0])])
    writer.write(conn, [message("north", "tank-1", [2.0], T0 + timedelta(hours=1))])
    # No engine met these sites yet: each starts before its first batch; one without any
    # batch at the feed's end (its batches to come get higher ids).
    assert feed.cursors(conn, ["north", "south", "east"]) == {"north": 0, "south": 1, "east": 3}
    feed.advance(conn, ["north"], 3)
    feed.advance(conn, ["north"], 1)  # never backwards
    # A site some engine evaluated resumes where it left off, whoever asks.
    assert feed.cursors(conn, ["north", "south"]) == {"north": 3, "south": 1}
    assert feed.backlog(conn) == 2  # batches 2 and 3 are past the lowest cursor (south at 1)
    assert feed.sites_after(conn, 1) == (3, frozenset({"north", "south"}))
    assert feed.sites_after(conn, 3) == (3, frozenset())


def test_prune_drops_what_every_cursor_passed_but_keeps_batches_of_a_site_without_one(
    conn: psycopg.Connection[TupleRow],
) -> None:
    writer = BatchWriter()
    writer.write(conn, [message("north", "tank-1", [1.0])])
    writer.write(conn, [message("west", "tank-5", [4.0])])  # a site no engine has met yet
    writer.write(conn, [message("north", "tank-1", [2.0], T0 + timedelta(hours=1))])
    feed.cursors(conn, ["north"])
    feed.advance(conn, ["north"], 3)
    assert feed.prune(conn, keep_s=86400) == 2
    # When an engine meets the site, its first batch is still there to evaluate.
    (cursor,) = feed.cursors(conn, ["west"]).values()
    assert [b.id for b in feed.read_after(conn, cursor, ["west"], 10)] == [2]
    feed.advance(conn, ["west"], 2)
    assert feed.prune(conn, keep_s=86400) == 1
    assert feed.read_after(conn, 0, ["north", "west"], 10) == []


def test_each_status_is_placed_after_the_data_that_arrived_before_it(
    conn: psycopg.Connection[TupleRow],
) -> None:
    def status(device: str) -> Message:
        return Message(received_at=T0, statuses=(StatusChange("south", device, T0, False),))

    BatchWriter().write(
        conn,
        [
            status("door-1"),  # first in its batch: nothing before it
            message("north", "tank-1", [50.0, 49.5, 49.0]),  # up to T0 + 2 min
            status("door-2"),
            message("north", "tank-1", [48.0], start=T0 + timedelta(hours=1)),  # after both
        ],
    )
    (batch,) = feed.read_after(conn, 0, ["north", "south"], 10)
    placed = {s.device: s.data_before for s in batch.statuses}
    assert placed == {"door-1": None, "door-2": T0.timestamp() + 120}
