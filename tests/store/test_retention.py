"""Retention (store.retention.prune) on both back ends: rejects, the audit log, finished
notifications and long-expired sessions go past the window everywhere; raw readings and events
only on plain PostgreSQL (TimescaleDB's retention policy drops their chunks)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from store.backend import Backend, backend_of
from store.retention import prune

NOW = datetime.now(UTC)
OLD, RECENT = NOW - timedelta(days=40), NOW - timedelta(days=20)


def _counts(conn: psycopg.Connection) -> dict[str, int]:
    tables = ("rejected_messages", "audit_log", "dashboard_sessions", "readings")
    counts = {}
    for table in tables:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
        assert row is not None
        counts[table] = int(row[0])
    return counts


def test_prune_drops_everything_past_the_window(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO sites (id, timezone) VALUES ('court', 'UTC')")
        conn.execute(
            "INSERT INTO devices (site_id, device_key, kind, first_seen, last_seen)"
            " VALUES ('court', 'tank-1', 'tank', %s, %s)",
            (OLD, NOW),
        )
        conn.execute("INSERT INTO series (device_id, metric) SELECT id, 'level_pct' FROM devices")
        conn.execute("INSERT INTO users (id, name, role) VALUES ('ops', 'Ops', 'operator')")
        for at in (OLD, RECENT):
            conn.execute(
                "INSERT INTO rejected_messages (received_at, topic, payload_prefix, payload_size,"
                " reason, fingerprint) VALUES (%s, 't', '', 0, 'bad', '\\x00')",
                (at,),
            )
            conn.execute(
                "INSERT INTO audit_log (at, actor, action) VALUES (%s, 'user:ops', 'x')", (at,)
            )
            conn.execute(
                "INSERT INTO dashboard_sessions (id_hash, user_id, csrf_token, created_at,"
                " expires_at) VALUES (%s, 'ops', 'c', %s, %s)",
                (at.isoformat().encode(), at, at),
            )
            conn.execute(
                "INSERT INTO readings (series_id, ts, value) SELECT id, %s, 1 FROM series", (at,)
            )
        pruned = prune(conn, retention_days=30)
        raw = backend_of(conn) is Backend.POSTGRESQL
        assert (pruned.rejects, pruned.audit, pruned.sessions) == (1, 1, 1)
        assert pruned.readings == (1 if raw else 0)
        assert _counts(conn) == {
            "rejected_messages": 1,
            "audit_log": 1,
            "dashboard_sessions": 1,
            "readings": 1 if raw else 2,
        }
