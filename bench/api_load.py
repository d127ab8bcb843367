"""Benchmark: API latency under load, against the bare SQL of the same answers, in one run.

A store with 10,000 devices (two sites of 5,000), a year of hourly rollups and 30 days of raw
readings (every 5 minutes) for `--history-series` of them, and 20,000 alerts (a tenth still
open), on an embedded PostgreSQL (or `--database-url`). The API runs as its own uvicorn process
(`api.cli.serve`, as `courtyard api` runs it) with `--workers` processes, as
COURTYARD_API__WORKERS sets them. For each request kind:

  baseline  the store query behind the answer, run back to back on one connection (for charts,
            api_readings.chart: the device check, its series and zone, and the bucket columns)
  api       the HTTP request at a fixed open-loop rate (default 200 req/s) from
            `--load-processes` processes (default 2) sharing the schedule (bench/open_loop.py);
            latency is counted from each request's scheduled start, so a slow server cannot
            hide its queue (no coordinated omission)

Kinds: the overview of a 5,000-device site; a one-year hourly chart of one series (the same
every time, which the API's few-second read cache mostly answers); a one-year hourly chart of
a different series each request (rotating over the `--history-series` devices: at the default
1,000 and 200 req/s a series comes back every 5 s, after the cache has let it go, so every
request is computed); the same rotation by local days (what the dashboard's device page shows
for a year); a page of 50 open alerts of a site. Target (issue 5): each p99 < 100 ms
at 200 req/s.

The rollup rows are laid out as the writer leaves them: hour after hour, every series of an
hour next to each other, so one series' year is spread over thousands of heap pages. Its closed
weeks are then packed for charts, as ingest's hourly maintenance does
(store/readings/hourly_packs.py).

    python bench/api_load.py [--scale 0.1] [--rate 200] [--seconds 15] [--workers 2]
                             [--load-processes 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import open_loop
import psycopg
from psycopg import sql

from api import cli
from courtyard.embedded import EmbeddedPostgres, service_account
from store import migrate
from store.access.users import NewUser
from store.access.visibility import Visibility
from store.alerts import alert_reads
from store.devices import device_reads
from store.readings import charts, hourly_packs
from store.settings import StoreSettings

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
SITES = ("north-court", "south-court")
#: Catalogue kind codes (store/devices/catalogue.py).
KINDS = (
    "booster_pump", "water_tank", "elevator", "street_light", "smoke_detector", "leak_detector",
    "electricity_meter", "door_contact",
)  # fmt: skip


@dataclass(frozen=True)
class Sizes:
    devices: int
    history_series: int
    alerts: int


def _sizes(scale: float, history_series: int) -> Sizes:
    return Sizes(
        devices=max(20, int(10_000 * scale)),
        history_series=max(1, int(history_series * scale)),
        alerts=max(20, int(20_000 * scale)),
    )


@contextlib.contextmanager
def _database(url: str | None) -> Iterator[str]:
    """A fresh database: on `url`'s server, or on an embedded PostgreSQL started for the run."""
    with contextlib.ExitStack() as stack:
        if url is None:
            root = Path(tempfile.mkdtemp(prefix="courtyard-bench-"))
            account = service_account()
            if account is not None:
                os.chown(root, account.uid, account.gid)
            stack.callback(lambda: subprocess.run(["rm", "-rf", str(root)], check=False))
            server = stack.enter_context(EmbeddedPostgres(root / "postgres"))
            url = server.url
        name = f"bench_api_{secrets.token_hex(4)}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        target = url.rsplit("/", 1)[0] + "/" + name
        try:
            yield target
        finally:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


def _fill(url: str, sizes: Sizes) -> None:
    """Registry and alerts by COPY; readings generated in the server (tens of millions of rows
    would spend minutes in Python for nothing the benchmark measures)."""
    started = time.perf_counter()
    per_site = sizes.devices // len(SITES)
    with psycopg.connect(url) as conn:
        for site in SITES:
            conn.execute("INSERT INTO sites (id, timezone) VALUES (%s, 'Asia/Shanghai')", (site,))
        with conn.cursor().copy(
            "COPY devices (site_id, device_key, kind, online, first_seen, last_seen) FROM STDIN"
        ) as copy:
            for n in range(sizes.devices):
                site = SITES[n // per_site % len(SITES)]
                online = None if n % 50 == 0 else n % 23 != 0
                copy.write_row(
                    (
                        site,
                        f"dev-{n:05d}",
                        KINDS[n % len(KINDS)],
                        online,
                        NOW - timedelta(days=400),
                        NOW,
                    )
                )
        conn.execute("INSERT INTO series (device_id, metric) SELECT id, 'level_pct' FROM devices")
        with conn.cursor().copy(
            "COPY alerts (dedup_key, rule_id, site_id, subject, category, severity, status,"
            " summary_key, first_seen, last_seen, acknowledged_at, resolved_at) FROM STDIN"
        ) as copy:
            for n in range(sizes.alerts):
                device = n % sizes.devices
                site = SITES[device // per_site % len(SITES)]
                first = NOW - timedelta(minutes=(sizes.alerts - n) * 5)
                status = "open" if n % 10 == 0 else "resolved"
                copy.write_row(
                    (
                        f"bench:{n}",
                        "bench-rule",
                        site,
                        f"dev-{device:05d}",
                        "maintenance" if n % 4 else "security",
                        ("info", "warning", "critical")[n % 3],
                        status,
                        "{subject} is out of range",
                        first,
                        first,
                        None,
                        None if status == "open" else first + timedelta(minutes=3),
                    )
                )
        conn.commit()
        registry_s = time.perf_counter() - started
        # One series of each history holder: a year of hourly rollups, 30 days of raw readings.
        # The rollup is written oldest hour first, all series of an hour together, as the
        # writer appends it in production (not one series after the other).
        conn.execute(
            """
            INSERT INTO readings_hourly_rollup (series_id, bucket, sample_count, sum_value,
                                                min_value, max_value)
            SELECT s, %(now)s - make_interval(hours => h), 12,
                   12 * (50 + 20 * sin(h / 24.0 + s)), 40 + 20 * sin(h / 24.0 + s),
                   60 + 20 * sin(h / 24.0 + s)
            FROM generate_series(1, %(series)s) s, generate_series(1, 24 * 365) h
            ORDER BY h DESC, s
            """,
            {"now": NOW, "series": sizes.history_series},
        )
        conn.execute(
            """
            INSERT INTO readings (series_id, ts, value)
            SELECT s, %(now)s - make_interval(mins => 5 * m), 50 + 20 * sin(m / 288.0)
            FROM generate_series(1, %(series)s) s, generate_series(1, 12 * 24 * 30) m
            """,
            {"now": NOW, "series": sizes.history_series},
        )
        conn.commit()
        # Closed weeks of the rollup packed for charts, as ingest's maintenance does within
        # the hour (store/readings/hourly_packs.py); timed, since a store's first packing is this.
        packing = time.perf_counter()
        weeks = hourly_packs.pack(conn)
        packing_s = time.perf_counter() - packing
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    print(
        f"store: {sizes.devices} devices, {sizes.alerts} alerts (registry by COPY in "
        f"{registry_s:.1f} s); {sizes.history_series} series with {24 * 365} hourly rollups and "
        f"{12 * 24 * 30} raw readings each; {weeks} weeks packed for charts in {packing_s:.0f} s;"
        f" filled in {time.perf_counter() - started:.0f} s"
    )


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


@dataclass
class Kind:
    name: str
    #: Request i asks for paths[i % len(paths)].
    paths: list[str]
    #: The store query behind request i, on a connection.
    baseline: Callable[[psycopg.AsyncConnection, int], Awaitable[object]]


def _history(url: str, count: int) -> list[tuple[int, int]]:
    """(device id, series id) of the devices that have history."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT device_id, id FROM series WHERE id <= %s ORDER BY id", (count,)
        ).fetchall()
    return [(int(device), int(series)) for device, series in rows]


def _kinds(history: list[tuple[int, int]]) -> list[Kind]:
    everything = Visibility.everything()
    site = SITES[0]
    start, end = NOW - timedelta(days=365), NOW
    q = f"metric=level_pct&start={start:%Y-%m-%dT%H:%M:%SZ}&end={end:%Y-%m-%dT%H:%M:%SZ}"
    chart = "/api/v1/devices/{}/aggregates?" + q + "&bucket_s=3600"
    # What the dashboard's device page asks for a year: local days of the site.
    daily = "/api/v1/devices/{}/aggregates?" + q + "&bucket_s=86400"
    first_device = history[0][0]
    return [
        Kind(
            "site overview (5,000 devices)",
            [f"/api/v1/sites/{site}/overview"],
            lambda conn, i: device_reads.overview(conn, everything, site),
        ),
        Kind(
            "one-year hourly chart, same",
            [chart.format(first_device)],
            lambda conn, i: charts.chart(
                conn, everything, first_device, "level_pct", start, end, 3600
            ),
        ),
        Kind(
            f"one-year hourly chart, {len(history)} rot.",
            [chart.format(device) for device, _ in history],
            lambda conn, i: charts.chart(
                conn, everything, history[i % len(history)][0], "level_pct", start, end, 3600
            ),
        ),
        Kind(
            f"one-year daily chart, {len(history)} rot.",
            [daily.format(device) for device, _ in history],
            lambda conn, i: charts.chart(
                conn, everything, history[i % len(history)][0], "level_pct", start, end, 86400
            ),
        ),
        Kind(
            "open alerts, first page of 50",
            [f"/api/v1/alerts?site={site}&status=open&limit=50"],
            lambda conn, i: alert_reads.list_alerts(
                conn,
                everything,
                alert_reads.AlertFilter(statuses=["open"], site_id=site),
                limit=51,
            ),
        ),
    ]


async def _baseline(url: str, kind: Kind, runs: int) -> list[float]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for i in range(5):
            await kind.baseline(conn, i)
        samples = []
        # Rotating kinds start past the warm-up's series, so these are not just cached pages.
        for i in range(5, 5 + runs):
            started = time.perf_counter()
            await kind.baseline(conn, i)
            samples.append(time.perf_counter() - started)
    return samples


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _server(url: str, workers: int) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", url, str(port), str(workers)],
        stdout=subprocess.DEVNULL,
        stderr=sys.stderr,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit("the API did not start")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full store")
    parser.add_argument(
        "--history-series",
        type=int,
        default=1000,
        help="series with a year of rollups and 30 days of raw (at scale 1); the rotating "
        "chart asks for each in turn, so more than read_cache_s x rate keeps it uncached",
    )
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=15.0, help="per request kind")
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="API processes (COURTYARD_API__WORKERS); default 2, one per core of the machine "
        "this target was set on",
    )
    parser.add_argument(
        "--load-processes", type=int, default=2, help="processes sending the requests"
    )
    parser.add_argument("--database-url", help="a server to create the bench database on")
    parser.add_argument(
        "--serve", nargs=3, metavar=("URL", "PORT", "WORKERS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve:
        from api.settings import ApiSettings

        url, port, workers = args.serve
        return cli.serve(
            ApiSettings(pool_max_size=10, workers=int(workers)),
            StoreSettings(url=url),
            host="127.0.0.1",
            port=int(port),
            log_level="warning",
        )

    sizes = _sizes(args.scale, args.history_series)
    with _database(args.database_url) as url:
        migrate.run(url, timescaledb="auto")
        _fill(url, sizes)
        store = StoreSettings(url=url)
        cli.add_user(
            store, NewUser(user_id="bench", name="Bench", role="manager", sites=list(SITES))
        )
        token, _ = cli.create_token(store, user_id="bench", name="bench", days=1)
        with _server(url, args.workers) as base:
            print(
                f"\nAPI: {args.workers} worker(s); {args.rate:.0f} requests/s per kind from "
                f"{args.load_processes} load process(es)"
            )
            print(
                f"{'request':32} {'SQL p50':>8} {'SQL p99':>8} | {'API p50':>8} "
                f"{'API p99':>8} {'rate':>7} {'errors':>6} | p99 < 100 ms"
            )
            for kind in _kinds(_history(url, sizes.history_series)):
                base_samples = asyncio.run(_baseline(url, kind, 200))
                load = open_loop.run(
                    [base + path for path in kind.paths],
                    {"Authorization": f"Bearer {token}"},
                    rate=args.rate,
                    seconds=args.seconds,
                    processes=args.load_processes,
                )
                latencies, errors = load.latencies_s, load.errors
                p99 = _pct(latencies, 0.99)
                print(
                    f"{kind.name:32} {_pct(base_samples, 0.5):7.1f}ms "
                    f"{_pct(base_samples, 0.99):7.1f}ms | {_pct(latencies, 0.5):7.1f}ms "
                    f"{p99:7.1f}ms {load.rate:6.0f}/s {errors:6d} | "
                    f"{'yes' if p99 < 100 and not errors else 'NO'}"
                )
        print(
            f"\n(latencies in ms; API figures over {args.seconds:.0f} s per kind; "
            f"median SQL/API ratio shows the HTTP layer's share)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
