"""Devices for chart tests, added to the API tests' world (site `alpha`): a water tank whose
level falls below a threshold rule's limit (with an alert about it, and an older one resolved two
days ago) and whose inlet valve opens and closes, and a climate sensor that reported once, three
days ago.

Rules beside the one that covers the tank: one disabled, one for another kind, one bound to the
other site, one whose device pattern leaves the tank out: none of them draws a line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from psycopg.types.json import Jsonb

from rules.catalog import thresholds
from store.alerts import transitions
from store.backend import Backend, backend_of

TANK = "alpha-tank"
RARE = "alpha-rare-climate"
LIMIT_RULE = "tank-level-low"
#: level_pct readings: 70 % for hours, then falling to 15 % in the last hour; limit 20 %.
LIMIT = 20.0
CLEAR = 30.0


@dataclass(frozen=True, slots=True)
class ChartDevices:
    tank_id: int
    rare_id: int
    alert_id: int
    #: When the rare sensor's one reading was.
    rare_at: datetime


def _device(conn: psycopg.Connection, key: str, kind: str, now: datetime) -> int:
    row = conn.execute(
        "INSERT INTO devices (site_id, device_key, kind, online, first_seen, last_seen)"
        " VALUES ('alpha', %s, %s, true, %s, %s) RETURNING id",
        (key, kind, now - timedelta(days=5), now),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _series(
    conn: psycopg.Connection, device_id: int, metric: str, points: list[tuple[datetime, float]]
) -> None:
    row = conn.execute(
        "INSERT INTO series (device_id, metric) VALUES (%s, %s) RETURNING id", (device_id, metric)
    ).fetchone()
    assert row is not None
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO readings (series_id, ts, value) VALUES (%s, %s, %s)",
            [(row[0], ts, value) for ts, value in points],
        )
    if backend_of(conn) is Backend.POSTGRESQL:
        # The rollup the writer would have kept (longer ranges read it).
        conn.execute(
            """
            INSERT INTO readings_hourly_rollup (series_id, bucket, sample_count, sum_value,
                                                min_value, max_value)
            SELECT series_id, date_bin('1 hour', ts, TIMESTAMPTZ '2000-01-01 00:00:00+00'),
                   count(*), sum(value), min(value), max(value)
            FROM readings WHERE series_id = %s GROUP BY 1, 2
            """,
            (row[0],),
        )


def _rule(
    conn: psycopg.Connection,
    rule_id: str,
    scope: dict[str, object],
    *,
    enabled: bool = True,
    site: str | None = None,
    value: float = LIMIT,
) -> None:
    conn.execute(
        "INSERT INTO rules (id, kind, site_id, enabled, scope, params, category, severity)"
        " VALUES (%s, 'threshold', %s, %s, %s, %s, 'maintenance', 'critical')",
        (
            rule_id,
            site,
            enabled,
            Jsonb(scope),
            Jsonb({"metric": "level_pct", "op": "<", "value": value, "clear_value": CLEAR}),
        ),
    )


def add(url: str, now: datetime) -> ChartDevices:
    minutes = range(8 * 60, -1, -5)  # the last eight hours, a reading every 5 minutes
    level = [(now - timedelta(minutes=m), 70.0 if m > 60 else 15.0 + m * 55 / 60) for m in minutes]
    inlet = [(now - timedelta(minutes=m), float(m // 45 % 2)) for m in minutes]
    rare_at = now - timedelta(days=3, hours=2)
    with psycopg.connect(url) as conn:
        tank = _device(conn, TANK, "water_tank", now)
        _series(conn, tank, "inlet_open", inlet)
        _series(conn, tank, "level_pct", level)
        rare = _device(conn, RARE, "climate_sensor", now)
        _series(conn, rare, "temperature_c", [(rare_at, 21.5)])
        _rule(conn, LIMIT_RULE, {"device_kinds": ["water_tank"]})
        _rule(conn, "tank-level-disabled", {}, enabled=False, value=5.0)
        _rule(conn, "pump-level-low", {"device_kinds": ["booster_pump"]}, value=6.0)
        _rule(conn, "beta-level-low", {}, site="beta", value=7.0)
        _rule(conn, "other-tanks-low", {"devices": ["beta-tank-*"]}, value=8.0)
        # Last week's alert, resolved two days ago: outside a day's chart.
        old, _ = transitions.raise_or_repeat(
            conn,
            dedup_key=f"old:{LIMIT_RULE}:alpha:{TANK}",
            rule_id=LIMIT_RULE,
            site_id="alpha",
            subject=TANK,
            household_id=None,
            category="maintenance",
            severity="warning",
            summary_key=thresholds.BELOW,
            summary_args={"metric": "level_pct", "device": TANK, "limit": LIMIT, "value": 18.0},
            value=18.0,
            metric="level_pct",
            at=now - timedelta(days=7),
            actor=f"rule:{LIMIT_RULE}",
        )
        transitions.resolve(
            conn, old.id, actor=f"rule:{LIMIT_RULE}", at=now - timedelta(days=2), auto=True
        )
        crossed = now - timedelta(minutes=50)
        alert, _ = transitions.raise_or_repeat(
            conn,
            dedup_key=f"{LIMIT_RULE}:alpha:{TANK}",
            rule_id=LIMIT_RULE,
            site_id="alpha",
            subject=TANK,
            household_id=None,
            category="maintenance",
            severity="critical",
            summary_key=thresholds.BELOW,
            summary_args={"metric": "level_pct", "device": TANK, "limit": LIMIT, "value": 19.5},
            value=19.5,
            metric="level_pct",
            at=crossed,
            actor=f"rule:{LIMIT_RULE}",
        )
    return ChartDevices(tank, rare, alert.id, rare_at)
