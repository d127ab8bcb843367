"""Closed weeks of the hourly rollup, packed one row per (series, week), for long charts.

A one-year hourly chart is 8,760 rows of `readings_hourly`, and PostgreSQL spent most of the
chart's cost scanning, aggregating and sending them one value at a time. Past weeks hardly ever
change, so `pack` keeps each closed week of each series as one row holding its hours in the
chart's binary layout (`HOUR_RECORD`), and `api_readings` reads a year as ~52 such rows plus
the rollup rows of the hours no pack covers (the last week or two, any gap).

Weeks are PERIOD-long spans of UTC time from ORIGIN (date_bin), not calendar weeks: every
period is exactly 168 hours whatever the session's time zone.

What keeps a pack equal to the rollup it came from:

- Only periods that ended `PACK_AFTER` ago are packed: past TimescaleDB's refresh policy
  window (3 days), so its continuous aggregate no longer changes there by itself.
- A writer that stores readings in an already packed period repacks those (series, period)
  pairs in the same transaction (`REPACK_STAGED`) from `readings_hourly` as that transaction
  sees it: the rollup it just updated on plain PostgreSQL; on TimescaleDB the real-time
  aggregate (which shows the new rows above its watermark, and below it what it showed before).
- TimescaleDB changes its aggregate below the watermark only when refreshed; whoever refreshes
  an old window calls `forget` for it, which drops the window's packs and queues its periods
  for `pack` to redo (charts read the aggregate there meanwhile).
- Packing and repacking exclude each other with a table lock, so a late write cannot slip
  between a pack's read of the rollup and its commit: `pack` holds SHARE ROW EXCLUSIVE, which
  waits for and blocks the ROW EXCLUSIVE of writers (taken only by batches with old readings).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
from psycopg.rows import TupleRow

logger = logging.getLogger(__name__)

PERIOD = timedelta(days=7)
#: Periods start at ORIGIN plus a whole number of PERIODs (as the rollup's hours start at it).
ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)
#: A period is packed once it ended this long ago: beyond TimescaleDB's policy refresh window
#: (start_offset 3 days, migration 0002) and most late data.
PACK_AFTER = timedelta(days=4)
#: A writer looks for packs to redo when a batch holds a reading older than this: a day less
#: than PACK_AFTER, so clocks some hours apart cannot make it miss a packed period.
WRITER_LOOKS_BEFORE = PACK_AFTER - timedelta(days=1)

#: One hour of a pack, as PostgreSQL's int8send and float8send write it (big-endian).
HOUR_RECORD = np.dtype(
    [("start", ">i8"), ("avg", ">f8"), ("min", ">f8"), ("max", ">f8"), ("count", ">i8")]
)

#: A period in SQL: in hours, which timestamptz arithmetic never stretches across DST.
PERIOD_SQL = f"interval '{int(PERIOD.total_seconds() // 3600)} hours'"


def period_of(timestamp: str) -> str:
    """SQL: the start of the period the timestamptz expression `timestamp` falls in."""
    return f"date_bin({PERIOD_SQL}, {timestamp}, TIMESTAMPTZ '2000-01-01 00:00:00+00')"


# Upserts the packed hours of each (series, period) among the rollup rows `r` of {source}.
_UPSERT = f"""
    INSERT INTO readings_hourly_packs AS p (series_id, period, hours)
    SELECT r.series_id, {period_of("r.bucket")},
           string_agg(int8send(extract(epoch FROM r.bucket)::bigint) || float8send(r.avg_value)
                      || float8send(r.min_value) || float8send(r.max_value)
                      || int8send(r.sample_count::bigint), ''::bytea ORDER BY r.bucket)
    FROM {{source}}
    GROUP BY 1, 2
    ON CONFLICT (series_id, period) DO UPDATE SET hours = excluded.hours
"""

# One period of every series: a range scan of each series' rollup (its index leads with the
# series; a scan by time alone would read the whole rollup on plain PostgreSQL).
_PACK_PERIOD = _UPSERT.format(
    source=f"""
    series s CROSS JOIN LATERAL (
        SELECT * FROM readings_hourly
        WHERE series_id = s.id AND bucket >= %(period)s AND bucket < %(period)s + {PERIOD_SQL}
    ) r
    """
)

#: For the writer, after it moved `readings_stage` into the readings (and rollup): repack
#: the (series, period) pairs of the staged readings that lie in periods already packed. It
#: takes the table's ROW EXCLUSIVE lock before its snapshot, so it waits for a `pack` in
#: progress and then sees what that pack committed.
REPACK_STAGED = _UPSERT.format(
    source=f"""
    (SELECT DISTINCT series_id, {period_of("ts")} AS period
     FROM readings_stage
     WHERE ts < (SELECT packed_through FROM readings_hourly_packs_progress)) t
    JOIN readings_hourly r
      ON r.series_id = t.series_id AND r.bucket >= t.period AND r.bucket < t.period + {PERIOD_SQL}
    """
)

_LOCK = "LOCK TABLE readings_hourly_packs IN SHARE ROW EXCLUSIVE MODE"


def pack(conn: psycopg.Connection[TupleRow], *, max_periods: int | None = None) -> int:
    """Pack the periods queued by `forget`, then every closed period not packed yet, oldest
    first; one transaction a period (all series), so writers never wait long. Returns how many
    periods it packed.

    Safe to run from several processes at once: the lock makes them take turns, and a period
    packed twice is the same row."""
    done = 0
    while max_periods is None or done < max_periods:
        with conn.transaction():
            conn.execute(_LOCK)
            period = _next_period(conn)
            if period is None:
                break
            conn.execute(_PACK_PERIOD, {"period": period})
        done += 1
    if done:
        logger.info("packed %d week(s) of hourly rollups for charts", done)
    return done


def _next_period(conn: psycopg.Connection[TupleRow]) -> datetime | None:
    """The period to pack next, dequeued or marked packed: the caller packs it before it
    commits."""
    row = conn.execute(
        "DELETE FROM readings_hourly_packs_todo"
        " WHERE period = (SELECT min(period) FROM readings_hourly_packs_todo) RETURNING period"
    ).fetchone()
    if row is not None:
        return row[0]  # type: ignore[no-any-return]
    row = conn.execute(
        f"""
        SELECT coalesce(packed_through,
                        (SELECT {period_of("min(bucket)")} FROM readings_hourly)),
               {period_of("now() - %(after)s")} - {PERIOD_SQL}
        FROM readings_hourly_packs_progress
        """,
        {"after": PACK_AFTER},
    ).fetchone()
    assert row is not None  # migration 0011 inserts the row
    period, last_closed = row
    if period is None or period > last_closed:
        return None  # no rollup yet, or every closed period is packed
    conn.execute(
        "UPDATE readings_hourly_packs_progress SET packed_through = %s", (period + PERIOD,)
    )
    return period  # type: ignore[no-any-return]


def forget(conn: psycopg.Connection[TupleRow], start: datetime, end: datetime) -> int:
    """The rollup of [start, end) may have changed (a refresh on TimescaleDB): drop the packs of
    the periods it touches and queue those periods for `pack`. Commits (its own transaction);
    returns how many periods it queued."""
    with conn.transaction():
        conn.execute(_LOCK)
        queued = conn.execute(
            f"""
            WITH periods AS (
                SELECT period FROM generate_series(
                    {period_of("%(start)s::timestamptz")},
                    %(end)s::timestamptz - interval '1 microsecond', {PERIOD_SQL}) AS period
                WHERE period < (SELECT packed_through FROM readings_hourly_packs_progress)
            ), dropped AS (
                DELETE FROM readings_hourly_packs p USING periods WHERE p.period = periods.period
            )
            INSERT INTO readings_hourly_packs_todo (period) SELECT period FROM periods
            ON CONFLICT DO NOTHING
            """,
            {"start": start, "end": end},
        ).rowcount
    if queued:
        logger.info("dropped packed rollups of %d week(s) for repacking", queued)
    return queued
