"""Benchmark: backtests of a threshold and an anomaly rule over a month of 1-minute readings.

On an embedded PostgreSQL, in one run:

  data       1,000 series (one `temperature_c` per device) x 30 days x 1 reading a minute
             (43.2 M rows), written by binary COPY into the real `readings` table; 2 % of the
             series overheat for two hours once, so both rules have something to find; then
             the hourly rollup, as the writer would have kept it while storing them;
  baseline   one binary `COPY (SELECT series_id, ts, value ...) TO STDOUT` of the whole window,
             bytes read and dropped: what merely getting the rows out of the store costs;
  backtests  `rules.backtest.replay.backtest` of each rule over the same window (rollup, planned
             reads, views, evaluation, in-memory lifecycle); with --raw also every reading of the
             window (`reads="raw"`), checked to list the same alerts.

Times are printed with their ratio to the baseline measured in the same run (the machines are
shared and noisy). Target (issue 4): each backtest under 10 s at full size.

    python bench/backtest.py [--series 1000] [--days 30] [--raw]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg
from psycopg import sql

from courtyard.embedded import EmbeddedPostgres, service_account
from rules.backtest.replay import backtest
from rules.definitions import parse_rules
from rules.directory import Directory
from store import migrate
from store.readings import binary_copy

SITE = "bench-court"
METRIC = "temperature_c"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("sid_len", ">i4"),
        ("sid", ">i4"),
        ("ts_len", ">i4"),
        ("ts", ">i8"),
        ("value_len", ">i4"),
        ("value", ">f8"),
    ]
)
RULES = """rules:
  - id: bench-hot
    kind: threshold
    category: maintenance
    severity: warning
    params: {metric: temperature_c, op: ">", value: 33.0, clear_value: 30.0, hold_s: 300}
  - id: bench-unusual
    kind: anomaly
    category: maintenance
    severity: info
    params: {metric: temperature_c, k: 8.0, clear_k: 4.0, hold_s: 300, min_mad: 0.1}
"""


@contextlib.contextmanager
def database() -> Iterator[str]:
    account = service_account()
    root = Path(tempfile.mkdtemp(prefix="courtyard-bench-"))
    if account is not None:
        os.chown(root, account.uid, account.gid)
    try:
        with EmbeddedPostgres(root / "pg") as pg:
            name = f"bench_{secrets.token_hex(4)}"
            with psycopg.connect(pg.url, autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            url = pg.url.rsplit("/", 1)[0] + "/" + name
            migrate.run(url)
            yield url
    finally:
        shutil.rmtree(root, ignore_errors=True)


def series_values(rng: np.random.Generator, minutes: int, overheat: bool) -> np.ndarray:
    """A plant room's temperature: 22-26 degC, a daily swing of 2 degC, 0.15 degC of noise."""
    t = np.arange(minutes, dtype=np.float64)
    base = rng.uniform(22.0, 26.0)
    values = base + 2.0 * np.sin((t / 1440.0 - 9.0 / 24.0) * 2 * math.pi)
    values += rng.normal(0.0, 0.15, minutes)
    if overheat:
        start = int(rng.integers(2 * 1440, max(2 * 1440 + 1, minutes - 180)))
        ramp = 45.0 - base
        rise = ramp * (1 - np.exp(-np.arange(120) / 60.0))
        values[start : start + 120] += rise[: len(values[start : start + 120])]
    return np.round(values, 2)


def load(url: str, n_series: int, days: int) -> int:
    """Devices, series and readings; returns the number of readings written."""
    minutes = days * 1440
    rng = np.random.default_rng(20260101)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("INSERT INTO sites (id, timezone) VALUES (%s, 'Asia/Shanghai')", (SITE,))
        conn.execute(
            """
            INSERT INTO devices (site_id, device_key, kind, first_seen, last_seen)
            SELECT %s, 'room-' || lpad(i::text, 4, '0'), 'climate_sensor', %s, %s
            FROM generate_series(1, %s) i
            """,
            (SITE, T0, T0 + timedelta(days=days), n_series),
        )
        conn.execute(
            "INSERT INTO series (device_id, metric) SELECT id, %s FROM devices ORDER BY id",
            (METRIC,),
        )
        ids = [int(r[0]) for r in conn.execute("SELECT id FROM series ORDER BY id")]
        us0 = int((T0.timestamp() - binary_copy.PG_EPOCH_S) * 1e6)
        stamps = us0 + np.arange(minutes, dtype=np.int64) * 60_000_000
        header = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
        with conn.cursor() as cur, cur.copy("COPY readings FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(header)
            for sid in ids:
                rows = np.empty(minutes, dtype=_ROW)
                rows["fields"], rows["sid_len"], rows["ts_len"], rows["value_len"] = 3, 4, 8, 8
                rows["sid"] = sid
                rows["ts"] = stamps
                rows["value"] = series_values(rng, minutes, overheat=rng.random() < 0.02)
                copy.write(rows.tobytes())
            copy.write(b"\xff\xff")
        conn.execute("VACUUM ANALYZE readings")
    return minutes * len(ids)


def roll_up(url: str) -> None:
    """The plain-PostgreSQL hourly rollup of everything loaded (store.readings.writer's arithmetic:
    UTC hours, count, sum, min, max), which the writer keeps current as it stores readings."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute(
            """
            INSERT INTO readings_hourly_rollup
                (series_id, bucket, sample_count, sum_value, min_value, max_value)
            SELECT series_id, date_bin('1 hour', ts, TIMESTAMPTZ '2000-01-01 00:00:00+00'),
                   count(*), sum(value), min(value), max(value)
            FROM readings
            GROUP BY 1, 2
            """
        )
        conn.execute("VACUUM ANALYZE readings_hourly_rollup")


def baseline(url: str, start: datetime, end: datetime) -> tuple[float, int]:
    """Seconds to stream the window's rows out with one binary COPY, and the bytes read."""
    query = sql.SQL(
        "COPY (SELECT series_id, ts, value FROM readings WHERE ts >= {} AND ts < {})"
        " TO STDOUT (FORMAT BINARY)"
    ).format(sql.Literal(start), sql.Literal(end))
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        began = time.perf_counter()
        size = 0
        with cur.copy(query) as copy:
            for data in copy:
                size += len(data)
        return time.perf_counter() - began, size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument(
        "--readers", type=int, default=2, help="connections reading chunks ahead (1: none)"
    )
    parser.add_argument(
        "--raw", action="store_true", help="also time every reading's backtest, compare alerts"
    )
    args = parser.parse_args()
    start, end = T0, T0 + timedelta(days=args.days)
    directory = Directory(site_timezones={SITE: "Asia/Shanghai"})
    with database() as url:
        began = time.perf_counter()
        rows = load(url, args.series, args.days)
        print(f"data      {rows:,} readings ({args.series} series x {args.days} days) "
              f"written in {time.perf_counter() - began:.1f} s")  # fmt: skip
        began = time.perf_counter()
        roll_up(url)
        print(f"rollup    built in {time.perf_counter() - began:.1f} s (not part of any figure)")
        base_s, size = baseline(url, start, end)
        print(f"baseline  COPY TO of the window: {base_s:.2f} s "
              f"({rows / base_s / 1e6:.1f} M rows/s, {size / 1e6:.0f} MB)")  # fmt: skip
        for definition in parse_rules(RULES, "bench"):
            for reads in ("auto", "raw") if args.raw else ("auto",):
                with psycopg.connect(url) as conn:
                    began = time.perf_counter()
                    report = backtest(
                        conn, definition, start, end, directory,
                        connect=lambda: psycopg.connect(url), readers=args.readers,
                        reads=reads,
                    )  # fmt: skip
                    took = time.perf_counter() - began
                target = "ok" if took < 10.0 else "over the 10 s target"
                print(f"{definition.kind:<9} {report.reads:<6} {took:6.2f} s  "
                      f"= {took / base_s:5.2f} x baseline  {report.readings:>10,} rows read  "
                      f"{len(report.alerts)} alerts  [{target}]")  # fmt: skip
                if reads == "auto":
                    planned = report.alerts
                elif report.alerts != planned:
                    print("          DIFFERENT alerts from the raw path:")
                    for a in sorted(set(report.alerts) ^ set(planned), key=str):
                        print(f"            {'raw ' if a in report.alerts else 'plan'} {a}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
