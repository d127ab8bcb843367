"""Stored readings and events of a time window, in time-ordered chunks (backtests, replays).

Readings travel as columns, not rows: a binary `COPY ... TO STDOUT` of (series_id, ts, value)
is read straight into one numpy record array per chunk (34 bytes a row, no Python object per
row), and `series_names` gives the series -> (site, device, metric) dictionary beside it. Events
are few by comparison and come as `store.records.Event`.

Status history is not kept (the `devices` table holds only each device's current status), so a
chunk carries none. `newest_reading` tells where a site's stored history ends (a replay that
resumes starts after it).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from store.readings import binary_copy
from store.records import Event, Reading

#: A window long enough that per-query overhead vanishes, short enough that a chunk of a
#: thousand 1-minute series (360 k rows, ~12 MB) stays small.
DEFAULT_CHUNK_S = 6 * 3600.0

# A row of `COPY (SELECT series_id, ts, value ...) TO STDOUT (FORMAT BINARY)`.
_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("sid_len", ">i4"),
        ("sid", ">i4"),
        ("ts_len", ">i4"),
        ("ts", ">i8"),  # microseconds since 2000-01-01 UTC
        ("value_len", ">i4"),
        ("value", ">f8"),
    ]
)
SeriesNames = dict[int, tuple[str, str, str]]


@dataclass(frozen=True, slots=True)
class ReadingColumns:
    """Readings as parallel arrays, in no particular order."""

    series_ids: npt.NDArray[np.int32]
    epochs: npt.NDArray[np.float64]
    values: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.series_ids.size)

    def records(self, names: SeriesNames) -> Iterator[Reading]:
        """One `Reading` per row, for consumers that want records (slow on big chunks)."""
        for sid, t, v in zip(
            self.series_ids.tolist(), self.epochs.tolist(), self.values.tolist(), strict=True
        ):
            name = names.get(sid)
            if name is not None:
                yield Reading(*name, datetime.fromtimestamp(t, UTC), v)


EMPTY = ReadingColumns(
    np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float64), np.empty(0, dtype=np.float64)
)


@dataclass(frozen=True, slots=True)
class HistoryChunk:
    """Everything stored with start <= ts < end."""

    start: datetime
    end: datetime
    readings: ReadingColumns
    events: tuple[Event, ...]


def series_names(
    conn: psycopg.Connection[TupleRow],
    sites: Collection[str] | None = None,
    metrics: Collection[str] | None = None,
) -> SeriesNames:
    """series id -> (site, device, metric) of the series of `sites` (all when None), optionally
    only those of `metrics`."""
    rows = conn.execute(
        """
        SELECT s.id, d.site_id, d.device_key, s.metric
        FROM series s JOIN devices d ON d.id = s.device_id
        WHERE (%(sites)s::text[] IS NULL OR d.site_id = ANY(%(sites)s::text[]))
          AND (%(metrics)s::text[] IS NULL OR s.metric = ANY(%(metrics)s::text[]))
        """,
        {
            "sites": None if sites is None else sorted(sites),
            "metrics": None if metrics is None else sorted(metrics),
        },
    ).fetchall()
    return {int(sid): (str(site), str(device), str(metric)) for sid, site, device, metric in rows}


def newest_reading(conn: psycopg.Connection[TupleRow], site_id: str) -> datetime | None:
    """The time of the site's newest stored reading (None: it has none)."""
    # Per series from the end of its primary key, (series_id, ts): no scan of the readings.
    row = conn.execute(
        """
        SELECT max(r.ts) FROM series s
        JOIN devices d ON d.id = s.device_id
        CROSS JOIN LATERAL (
            SELECT ts FROM readings WHERE series_id = s.id ORDER BY ts DESC LIMIT 1
        ) r
        WHERE d.site_id = %s
        """,
        (site_id,),
    ).fetchone()
    return row[0] if row else None


def read_readings(
    conn: psycopg.Connection[TupleRow],
    series_ids: Collection[int] | None,
    start: datetime,
    end: datetime,
) -> ReadingColumns:
    """Readings of `series_ids` (every series when None) with start <= ts < end."""
    if series_ids is not None and not series_ids:
        return EMPTY
    query = sql.SQL(
        "COPY (SELECT series_id, ts, value FROM readings WHERE ts >= {start} AND ts < {end}{ids})"
        " TO STDOUT (FORMAT BINARY)"
    ).format(
        start=sql.Literal(start),
        end=sql.Literal(end),
        ids=sql.SQL("")
        if series_ids is None
        else sql.SQL(" AND series_id = ANY({})").format(
            sql.Literal("{" + ",".join(str(int(i)) for i in sorted(series_ids)) + "}")
        ),
    )
    return parse_binary_copy(binary_copy.copy_out(conn, query))


def parse_binary_copy(buf: bytes) -> ReadingColumns:
    """(series_id, ts, value) rows of a binary COPY stream."""
    if not buf:
        return EMPTY
    rows = binary_copy.rows(buf, _ROW)
    return ReadingColumns(
        rows["sid"].astype(np.int32),
        binary_copy.epochs(rows["ts"]),
        rows["value"].astype(np.float64),
    )


def read_events(
    conn: psycopg.Connection[TupleRow],
    start: datetime,
    end: datetime,
    sites: Collection[str] | None = None,
    types: Collection[str] | None = None,
) -> list[Event]:
    """Events of `sites` with start <= ts < end (optionally only of `types`), in time order."""
    if types is not None and not types:
        return []
    rows = conn.execute(
        """
        SELECT d.site_id, d.device_key, e.ts, e.type, e.subject, e.attrs
        FROM events e JOIN devices d ON d.id = e.device_id
        WHERE e.ts >= %(start)s AND e.ts < %(end)s
          AND (%(sites)s::text[] IS NULL OR d.site_id = ANY(%(sites)s::text[]))
          AND (%(types)s::text[] IS NULL OR e.type = ANY(%(types)s::text[]))
        ORDER BY e.ts
        """,
        {
            "start": start,
            "end": end,
            "sites": None if sites is None else sorted(sites),
            "types": None if types is None else sorted(types),
        },
    ).fetchall()
    return [
        Event(str(site), str(device), ts, str(type_), subject or None, dict(attrs))
        for site, device, ts, type_, subject, attrs in rows
    ]


def chunks(
    conn: psycopg.Connection[TupleRow],
    start: datetime,
    end: datetime,
    *,
    series: Collection[int] | None = None,
    sites: Collection[str] | None = None,
    event_types: Collection[str] | None = None,
    chunk_s: float = DEFAULT_CHUNK_S,
) -> Iterator[HistoryChunk]:
    """[start, end) in consecutive windows of `chunk_s`, oldest first: the readings of `series`
    (ids from `series_names`; every series when None) and the events of `sites`."""
    for lo, hi in windows(start, end, chunk_s):
        yield HistoryChunk(
            lo,
            hi,
            read_readings(conn, series, lo, hi),
            tuple(read_events(conn, lo, hi, sites, event_types)),
        )


def windows(start: datetime, end: datetime, chunk_s: float) -> list[tuple[datetime, datetime]]:
    """[start, end) cut into consecutive windows of `chunk_s` seconds (the last one shorter)."""
    if chunk_s <= 0:
        raise ValueError(f"chunk_s must be > 0, got {chunk_s}")
    out, lo, step = [], start, timedelta(seconds=chunk_s)
    while lo < end:
        out.append((lo, min(lo + step, end)))
        lo = out[-1][1]
    return out


def chunks_parallel(
    connect: Callable[[], psycopg.Connection[TupleRow]],
    start: datetime,
    end: datetime,
    *,
    series: Collection[int] | None = None,
    sites: Collection[str] | None = None,
    event_types: Collection[str] | None = None,
    chunk_s: float = DEFAULT_CHUNK_S,
    readers: int = 2,
) -> Iterator[HistoryChunk]:
    """`chunks`, read ahead by `readers` threads, each on its own connection from `connect`:
    the server produces the next chunks on other cores while the caller works on this one.
    Chunks still come out in time order; at most `readers` of them wait in memory."""
    local = threading.local()
    opened: list[psycopg.Connection[TupleRow]] = []
    lock = threading.Lock()

    def read(lo: datetime, hi: datetime) -> HistoryChunk:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = connect()
            with lock:
                opened.append(conn)
        with conn.transaction():
            readings = read_readings(conn, series, lo, hi)
            events = tuple(read_events(conn, lo, hi, sites, event_types))
        return HistoryChunk(lo, hi, readings, events)

    todo = iter(windows(start, end, chunk_s))
    pending: deque[Future[HistoryChunk]] = deque()
    pool = ThreadPoolExecutor(max(1, readers), thread_name_prefix="courtyard-history")
    try:
        for lo, hi in todo:
            pending.append(pool.submit(read, lo, hi))
            if len(pending) >= max(1, readers):
                break
        while pending:
            chunk = pending.popleft().result()
            for lo, hi in todo:
                pending.append(pool.submit(read, lo, hi))
                break
            yield chunk
    finally:
        for f in pending:
            f.cancel()
        pool.shutdown(wait=True)
        for conn in opened:
            conn.close()
