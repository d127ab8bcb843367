"""Migrations: idempotent, safe concurrently, and the right objects on each back end."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from store import migrate
from store.backend import Backend, backend_of
from tests.conftest import database_url_for


@pytest.fixture
def empty_database(postgres_url: str) -> Iterator[str]:
    name = f"empty_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield database_url_for(postgres_url, name)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def shipped() -> list[str]:
    """Every migration in store/migrations, once per version (backend pairs count once)."""
    folder = Path(migrate.__file__).parent / "migrations"
    return sorted({f.name.split(".")[0] for f in folder.glob("[0-9][0-9][0-9][0-9]_*.sql")})


def test_second_run_applies_nothing(empty_database: str) -> None:
    first = migrate.run(empty_database)
    second = migrate.run(empty_database)
    assert list(first.applied) == shipped()
    assert second.applied == ()
    assert second.backend == first.backend


def test_concurrent_runs_apply_each_migration_once(empty_database: str) -> None:
    reports: list[migrate.MigrationReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            reports.append(migrate.run(empty_database))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    applied = [name for report in reports for name in report.applied]
    assert sorted(applied) == shipped()
    with psycopg.connect(empty_database) as conn:
        rows = conn.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()
    assert rows == [(name[:4],) for name in shipped()]


def test_off_records_plain_postgresql(empty_database: str) -> None:
    assert migrate.run(empty_database, timescaledb="off").backend is Backend.POSTGRESQL
    with psycopg.connect(empty_database) as conn:
        assert backend_of(conn) is Backend.POSTGRESQL
        kinds = dict(
            conn.execute(
                "SELECT c.relname, c.relkind::text FROM pg_class c "
                "WHERE c.relname IN ('readings_hourly', 'readings_hourly_rollup', 'readings_named')"
            ).fetchall()
        )
    assert kinds == {"readings_hourly": "v", "readings_hourly_rollup": "r", "readings_named": "v"}


def test_timescaledb_objects_exist_when_the_extension_is_there(database_url: str) -> None:
    """Runs for real against a TimescaleDB server (COURTYARD_TEST_DATABASE_URL)."""
    with psycopg.connect(database_url) as conn:
        if backend_of(conn) is not Backend.TIMESCALEDB:
            pytest.skip(
                "plain PostgreSQL: the TimescaleDB path is tested against a Timescale server"
            )
        hypertables = {
            row[0]
            for row in conn.execute(
                "SELECT hypertable_name FROM timescaledb_information.hypertables"
            )
        }
        compressed = {
            row[0]
            for row in conn.execute(
                "SELECT hypertable_name FROM timescaledb_information.hypertables "
                "WHERE compression_enabled"
            )
        }
        aggregates = {
            row[0]
            for row in conn.execute(
                "SELECT view_name FROM timescaledb_information.continuous_aggregates"
            )
        }
        jobs = {
            (row[0], row[1])
            for row in conn.execute(
                "SELECT proc_name, coalesce(hypertable_name, '') FROM timescaledb_information.jobs"
            )
        }
    assert {"readings", "events"} <= hypertables
    assert {"readings", "events"} <= compressed
    assert "readings_hourly" in aggregates
    assert ("policy_retention", "readings") in jobs
    assert ("policy_compression", "readings") in jobs
    assert any(name == "policy_refresh_continuous_aggregate" for name, _ in jobs)


def test_on_fails_clearly_without_the_extension(empty_database: str) -> None:
    with psycopg.connect(empty_database) as conn:
        available = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
        ).fetchone()
    if available:
        pytest.skip("TimescaleDB is installed on this server")
    with pytest.raises(migrate.MigrationError, match="TimescaleDB is required"):
        migrate.run(empty_database, timescaledb="on")
