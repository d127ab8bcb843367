"""Late hours: readings stored behind TimescaleDB's refresh policy reach the hourly rollup.

`readings_hourly` on TimescaleDB is a real-time continuous aggregate whose policy refreshes
only `now - 3 days .. now - 1 hour` (migration 0002). Below its watermark the aggregate is read
from the materialization alone, so an hour written after it fell out of that window (a gateway
catching up, a replay, a backfill) was never materialized or stays stale: invisible to charts,
packs and backtests. So:

- the writer notes, in the transaction that stores them, the UTC hours of readings older than
  `NOTE_BEFORE` (`NOTE_STAGED`; live batches never reach it);
- store maintenance (`refresh`) refreshes exactly those hours with the documented
  `refresh_continuous_aggregate`, contiguous runs in one call each, then drops the packs of
  their weeks for repacking (store/readings/hourly_packs.py).

A noted hour's row carries a number from a sequence, drawn again whenever a writer notes the
hour again (after waiting for any other writer's lock on the row). `refresh` reads the rows,
refreshes, then deletes each row only if its number is still the one it read: a writer that was
not yet committed when the refresh began leaves a higher number, and the hour is refreshed again
next time. A failed refresh deletes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from psycopg.rows import TupleRow

from store.backend import Backend, backend_of
from store.readings import hourly_packs

logger = logging.getLogger(__name__)

#: The refresh policy's start_offset (migration 0002): older hours are never refreshed by it.
POLICY_REACHES_BACK = timedelta(days=3)
#: Readings older than this are noted: a day inside the policy's window, so that an hour the
#: policy would still cover is not missed when its next run is late.
NOTE_BEFORE = POLICY_REACHES_BACK - timedelta(days=1)
_HOUR = timedelta(hours=1)
# Any constant works; it only has to be the same for every refresher.
_REFRESH_LOCK_KEY = 0x6C617465686F7572  # "latehour"
#: Noted hours at most this far apart are refreshed in one call (the gap costs little: a refresh
#: recomputes only what TimescaleDB's invalidation log says changed).
_JOIN_GAP = timedelta(hours=24)

#: For the writer, after it moved `readings_stage` into `readings` (TimescaleDB only).
NOTE_STAGED = f"""
INSERT INTO readings_hourly_late AS l (bucket)
SELECT DISTINCT date_bin('1 hour', ts, TIMESTAMPTZ '2000-01-01 00:00:00+00')
FROM readings_stage
WHERE ts < now() - interval '{int(NOTE_BEFORE.total_seconds())} seconds'
ORDER BY 1
ON CONFLICT (bucket) DO UPDATE SET noted = nextval('readings_hourly_late_seq')
"""


@dataclass(frozen=True, slots=True)
class Refreshed:
    hours: int = 0
    calls: int = 0


def runs(hours: list[datetime]) -> list[tuple[datetime, datetime]]:
    """[start, end) windows covering the sorted `hours`, joined across gaps up to _JOIN_GAP."""
    windows: list[tuple[datetime, datetime]] = []
    for hour in hours:
        if windows and hour - windows[-1][1] <= _JOIN_GAP:
            windows[-1] = (windows[-1][0], hour + _HOUR)
        else:
            windows.append((hour, hour + _HOUR))
    return windows


def refresh(conn: psycopg.Connection[TupleRow], retention_days: int) -> Refreshed:
    """Refresh the continuous aggregate over the noted late hours; a no-op on plain PostgreSQL.
    `conn` must be in autocommit mode (refresh_continuous_aggregate refuses a transaction)."""
    with conn.transaction():
        if backend_of(conn) is not Backend.TIMESCALEDB:
            return Refreshed()
        # Hours in chunks the retention policy drops (whole days past retention) are only
        # forgotten: refreshing them once the raw chunk is gone would empty their rollup.
        noted = conn.execute(
            "SELECT bucket, noted, bucket >= now() - make_interval(days => %s - 1)"
            " FROM readings_hourly_late ORDER BY bucket",
            (retention_days,),
        ).fetchall()
    if not noted:
        return Refreshed()
    windows = runs([bucket for bucket, _, kept in noted if kept])
    # One refresher at a time (several ingest processes may run maintenance): the second waits,
    # then refreshes what is still noted; TimescaleDB needs nothing recomputed twice.
    conn.execute("SELECT pg_advisory_lock(%s)", (_REFRESH_LOCK_KEY,))
    try:
        for start, end in windows:
            conn.execute(
                "CALL refresh_continuous_aggregate('readings_hourly', %s::timestamptz,"
                " %s::timestamptz)",
                (start, end),
            )
            hourly_packs.forget(conn, start, end)
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_REFRESH_LOCK_KEY,))
    with conn.transaction():
        conn.execute(
            "DELETE FROM readings_hourly_late l"
            " USING unnest(%s::timestamptz[], %s::bigint[]) AS d (bucket, noted)"
            " WHERE l.bucket = d.bucket AND l.noted = d.noted",
            ([bucket for bucket, _, _ in noted], [number for _, number, _ in noted]),
        )
    done = Refreshed(hours=sum(1 for *_, kept in noted if kept), calls=len(windows))
    if done.hours:
        logger.info(
            "refreshed %d late hour(s) of the hourly rollup in %d call(s)", done.hours, done.calls
        )
    return done
