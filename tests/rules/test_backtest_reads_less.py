"""Backtests that read the hourly rollup first list the same alerts as those that read every
reading: both paths over the same stored history (written by the real writer, which keeps the
rollup), with incidents placed on the hour borders, NaN readings, gaps, out-of-order writes,
readings stored around the writer, and seeded random incidents."""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
import pytest
from psycopg.rows import TupleRow

from rules.backtest.replay import SCREENED, BacktestReport, backtest, format_report
from rules.definitions import RuleDefinition, parse_rules
from rules.directory import Directory
from store.readings.writer import BatchWriter
from store.records import Message, Reading

T0 = datetime(2026, 1, 5, tzinfo=UTC)
SITE = "bench-court"
DAYS = 3
MINUTES = DAYS * 1440
Shape = Callable[[np.ndarray], np.ndarray]


def normal(rng: np.random.Generator) -> np.ndarray:
    """A plant room: 24 degC, a daily swing of 2 degC, 0.15 degC of noise, one a minute."""
    t = np.arange(MINUTES, dtype=np.float64)
    return np.round(24.0 + 2.0 * np.sin(2 * math.pi * t / 1440) + rng.normal(0, 0.15, MINUTES), 2)


def at(day: int, hour: int, minute: int) -> int:
    return day * 1440 + hour * 60 + minute


def write(
    conn: psycopg.Connection[TupleRow],
    rooms: dict[str, np.ndarray],
    metric: str = "temperature_c",
    rng: np.random.Generator | None = None,
) -> None:
    """Through the writer (which keeps the rollup), in batches of a few hours; shuffled within
    each batch when `rng` is given."""
    writer = BatchWriter(feed_enabled=False)
    for lo in range(0, MINUTES, 240):
        readings = [
            Reading(SITE, room, metric, T0 + timedelta(minutes=m), float(values[m]))
            for room, values in rooms.items()
            for m in range(lo, min(lo + 240, MINUTES))
            if not np.isneginf(values[m])  # -inf marks "no reading" (a gap)
        ]
        if rng is not None:
            readings = [readings[i] for i in rng.permutation(len(readings))]
        writer.write(conn, [Message(received_at=T0, readings=tuple(readings))])


def both(
    conn: psycopg.Connection[TupleRow],
    definition: RuleDefinition,
    start: datetime = T0,
    end: datetime = T0 + timedelta(days=DAYS),
) -> tuple[BacktestReport, BacktestReport]:
    directory = Directory(site_timezones={SITE: "Asia/Shanghai"})
    raw = backtest(conn, definition, start, end, directory, reads="raw")
    planned = backtest(conn, definition, start, end, directory)
    return raw, planned


def rule(kind: str, params: str) -> RuleDefinition:
    (definition,) = parse_rules(
        f"rules:\n  - {{id: r, kind: {kind}, category: maintenance, severity: warning,"
        f" params: {params}}}\n",
        "t.yaml",
    )
    return definition


HOT = rule(
    "threshold", '{metric: temperature_c, op: ">", value: 33.0, clear_value: 30.0, hold_s: 300}'
)


def test_threshold_incidents_on_hour_borders_gaps_nan_and_disorder(database_url: str) -> None:
    rng = np.random.default_rng(1)
    rooms = {f"room-{i:02d}": normal(rng) for i in range(1, 8)}
    # Breaches from :59, held across the hour border.
    rooms["room-01"][at(0, 10, 59) : at(0, 11, 6)] = 35.0
    # Fires in hour 13, stays in the hysteresis band through hour 14, clears in hour 15.
    r2 = rooms["room-02"]
    r2[at(0, 13, 50) : at(0, 14, 10)] = 36.0
    r2[at(0, 14, 10) : at(0, 15, 20)] = 31.0
    # A breach, NaN readings inside it, then two hours without any reading, then more breach:
    # the hold counts across the gap (it is measured between timestamps).
    r3 = rooms["room-03"]
    r3[at(1, 20, 58) : at(1, 21, 0)] = 34.0
    r3[at(1, 20, 59)] = np.nan
    r3[at(1, 21, 0) : at(1, 23, 0)] = -np.inf
    r3[at(1, 23, 0) : at(1, 23, 5)] = 34.0
    r3[at(1, 23, 5) : at(1, 23, 30)] = np.nan
    # Spikes shorter than the hold: read, never fired.
    for day, hour in ((0, 3), (1, 7), (2, 22)):
        rooms["room-04"][at(day, hour, 58) : at(day, hour, 61)] = 40.0
    # A breach at the very end of the window, still firing at its end.
    rooms["room-05"][at(2, 23, 40) :] = 34.0
    # Fires, clears after 3 minutes below the clear level, fires again in the next hour.
    r6 = rooms["room-06"]
    r6[at(2, 5, 30) : at(2, 5, 45)] = 35.0
    r6[at(2, 5, 45) : at(2, 5, 48)] = 29.0
    r6[at(2, 5, 48) : at(2, 6, 20)] = 35.0
    with psycopg.connect(database_url, autocommit=True) as conn:
        write(conn, rooms, rng=rng)
        raw, planned = both(conn, HOT)
    fired = {a.subject: a for a in raw.alerts}
    assert sorted(fired) == ["room-01", "room-02", "room-03", "room-05", "room-06"]
    assert fired["room-01"].first_seen == T0 + timedelta(minutes=at(0, 11, 4))
    assert fired["room-02"].resolved_at == T0 + timedelta(minutes=at(0, 15, 20))
    assert fired["room-03"].first_seen == T0 + timedelta(minutes=at(1, 23, 0))
    assert planned.alerts == raw.alerts and planned.reads == "hours"
    assert planned.readings < raw.readings / 10


def test_readings_stored_around_the_writer_are_read_raw(database_url: str) -> None:
    """An hour with no rollup row (loaded straight into `readings`) cannot be skipped."""
    rng = np.random.default_rng(2)
    values = normal(rng)
    values[-60:] = -np.inf
    last_hour = T0 + timedelta(days=DAYS, hours=-1)
    with psycopg.connect(database_url, autocommit=True) as conn:
        write(conn, {"room-01": values})
        conn.execute(
            "INSERT INTO readings (series_id, ts, value)"
            " SELECT (SELECT id FROM series), %s + i * interval '1 minute',"
            " CASE WHEN i BETWEEN 30 AND 39 THEN 40.0 ELSE 24.0 END FROM generate_series(0, 59) i",
            (last_hour,),
        )
        raw, planned = both(conn, HOT)
    (alert,) = raw.alerts
    assert alert.first_seen == last_hour + timedelta(minutes=35)
    assert planned.alerts == raw.alerts and planned.readings == 60


@pytest.mark.parametrize(
    "params",
    [
        '{metric: temperature_c, op: ">", value: 33.0, clear_value: 30.0, hold_s: 300}',
        '{metric: temperature_c, op: ">", value: 33.0, clear_value: 30.0, clear_hold_s: 900}',
        '{metric: temperature_c, op: ">", value: 33.0, hold_s: 3700}',
        '{metric: temperature_c, op: "<", value: 20.0, clear_value: 22.0, hold_s: 120}',
    ],
)
@pytest.mark.parametrize("window", ["aligned", "mid-hour"])
def test_random_incidents_raise_the_same_alerts(
    database_url: str, params: str, window: str
) -> None:
    rng = np.random.default_rng(zlib.crc32(f"{params} {window}".encode()))
    rooms = {f"room-{i:02d}": normal(rng) for i in range(1, 7)}
    for values in rooms.values():
        for _ in range(int(rng.integers(1, 6))):
            start, length = int(rng.integers(0, MINUTES)), int(rng.integers(1, 150))
            level = float(rng.choice([36.0, 31.5, 29.0, 18.0, 21.0, np.nan, -np.inf]))
            values[start : start + length] = level + rng.normal(
                0, 0.5, values[start:][:length].size
            )
    begin, end = T0, T0 + timedelta(days=DAYS)
    if window == "mid-hour":
        begin, end = begin + timedelta(minutes=31, seconds=7), end - timedelta(minutes=17)
    with psycopg.connect(database_url, autocommit=True) as conn:
        write(conn, rooms, rng=rng)
        raw, planned = both(conn, rule("threshold", params), begin, end)
    assert planned.alerts == raw.alerts
    assert planned.reads == "hours" and planned.readings < raw.readings


def test_a_gated_threshold_reads_whole_series_and_their_gates(database_url: str) -> None:
    rng = np.random.default_rng(3)
    gated = rule(
        "threshold",
        '{metric: temperature_c, op: ">", value: 33.0, clear_value: 30.0, only_when: running}',
    )
    rooms = {f"room-{i:02d}": normal(rng) for i in range(1, 5)}
    rooms["room-01"][at(1, 3, 0) : at(1, 5, 0)] = 35.0
    rooms["room-02"][at(1, 3, 0) : at(1, 5, 0)] = 35.0
    running = {room: np.zeros(MINUTES) for room in rooms}
    running["room-01"][at(1, 4, 0) : at(1, 9, 0)] = 1.0  # on from 04:00: fires then
    with psycopg.connect(database_url, autocommit=True) as conn:
        write(conn, rooms)
        write(conn, running, metric="running")
        raw, planned = both(conn, gated)
    assert [(a.subject, a.first_seen) for a in raw.alerts] == [
        ("room-01", T0 + timedelta(minutes=at(1, 4, 0)))
    ]
    assert planned.alerts == raw.alerts and planned.reads == "series" and planned.exact
    assert planned.readings == 4 * MINUTES  # two rooms' temperatures, and their gates


# -- anomaly -----------------------------------------------------------------------------------

UNUSUAL = rule(
    "anomaly", "{metric: temperature_c, k: 8.0, clear_k: 4.0, hold_s: 300, min_mad: 0.1}"
)


def test_anomaly_reads_the_suspect_series_whole_to_the_same_alerts(database_url: str) -> None:
    rng = np.random.default_rng(5)
    rooms = {f"room-{i:02d}": normal(rng) for i in range(1, 9)}
    # Overheats for two hours, as the bench's rooms do.
    rise = 20.0 * (1 - np.exp(-np.arange(120) / 60.0))
    rooms["room-01"][at(1, 14, 0) : at(1, 16, 0)] += rise
    # A lasting change of level (a new heater).
    rooms["room-02"][at(2, 2, 0) :] += 4.0
    # A NaN reading and an hour without readings in a quiet series.
    rooms["room-03"][at(1, 1, 0)] = np.nan
    rooms["room-04"][at(1, 5, 0) : at(1, 6, 0)] = -np.inf
    with psycopg.connect(database_url, autocommit=True) as conn:
        write(conn, rooms)
        raw, planned = both(conn, UNUSUAL)
    assert {a.subject for a in raw.alerts} == {"room-01", "room-02"}
    assert planned.alerts == raw.alerts and planned.reads == "series"
    # A screen chose what to skip: the report says an alert may be missing; a gated threshold
    # reading whole series is still exact.
    assert (raw.exact, planned.exact) == (True, False)
    assert format_report(planned, "UTC").endswith(SCREENED)
    assert not format_report(raw, "UTC").endswith(SCREENED)
    # room-01 and room-02, and room-03, whose hour with a NaN reading the rollup cannot bound;
    # room-04's empty hour is a gap, read and found empty.
    assert planned.readings == 3 * MINUTES
