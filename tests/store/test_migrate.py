"""Migrations: idempotent, safe concurrently, and the right objects on each back end."""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from courtyard.embedded import EmbeddedPostgres
from store import migrate
from store.backend import Backend, backend_of
from tests.conftest import database_url_for
from tests.support.processes import courtyard_env

#: A PostgreSQL bindir whose installation has TimescaleDB's files (the extension installed),
#: for the tests of a server that has it but does not preload it; they skip when unset.
TIMESCALEDB_BINDIR_ENV = "COURTYARD_TEST_TIMESCALEDB_BINDIR"


@contextmanager
def scratch_database(server_url: str, owner: str | None = None) -> Iterator[str]:
    """A new empty database on the server at `server_url`, dropped afterwards."""
    name = f"empty_{secrets.token_hex(6)}"
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if owner is not None:
        create += sql.SQL(" OWNER {}").format(sql.Identifier(owner))
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(create)
    try:
        yield database_url_for(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def empty_database(postgres_url: str) -> Iterator[str]:
    with scratch_database(postgres_url) as url:
        yield url


@pytest.fixture(scope="module")
def unpreloaded_server(servers_root: Path) -> Iterator[str]:
    """URL of a server whose installation has TimescaleDB but whose configuration does not
    preload it (what a package install gives before postgresql.conf is edited)."""
    bindir = os.environ.get(TIMESCALEDB_BINDIR_ENV)
    if not bindir:
        pytest.skip(f"{TIMESCALEDB_BINDIR_ENV} names no PostgreSQL bindir with TimescaleDB")
    with EmbeddedPostgres(
        Path(tempfile.mkdtemp(prefix="np-", dir=servers_root)), bindir=Path(bindir)
    ) as server:
        with psycopg.connect(server.url) as conn:
            available = conn.execute(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
            ).fetchone()
        assert available, f"{TIMESCALEDB_BINDIR_ENV}={bindir} has no timescaledb extension"
        yield server.url


@pytest.fixture
def unpreloaded(unpreloaded_server: str) -> Iterator[str]:
    with scratch_database(unpreloaded_server) as url:
        yield url


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
    with pytest.raises(
        migrate.MigrationError, match="=on but the timescaledb extension is not installed"
    ):
        migrate.run(empty_database, timescaledb="on")


# -- a server with TimescaleDB installed but not preloaded --------------------------------------


def _recorded_backend(url: str) -> list[tuple[str]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT value FROM store_info WHERE key = 'backend'").fetchall()


def test_auto_without_preload_says_why_and_uses_plain_postgresql(
    unpreloaded: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="store.migrate"):
        first = migrate.run(unpreloaded)
    assert (first.backend, list(first.applied)) == (Backend.POSTGRESQL, shipped())
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "TimescaleDB is not used" in warning.getMessage()
    assert "shared_preload_libraries" in warning.getMessage()
    second = migrate.run(unpreloaded)
    assert (second.backend, second.applied) == (Backend.POSTGRESQL, ())


def test_on_without_preload_fails_with_the_same_reason_and_records_nothing(
    unpreloaded: str, tmp_path: Path
) -> None:
    with pytest.raises(migrate.MigrationError, match="=on but the server does not preload") as err:
        migrate.run(unpreloaded, timescaledb="on")
    assert "shared_preload_libraries" in str(err.value)
    assert _recorded_backend(unpreloaded) == []
    # The command says the same, without a traceback.
    command = subprocess.run(
        [sys.executable, "-m", "courtyard", "migrate"],
        env=courtyard_env(database_url=unpreloaded, store__timescaledb="on"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert command.returncode == 1
    assert command.stderr.startswith("courtyard migrate: COURTYARD_STORE__TIMESCALEDB=on but")
    assert "shared_preload_libraries" in command.stderr and "Traceback" not in command.stderr


def test_off_without_preload_never_tries(
    unpreloaded: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="store.migrate"):
        assert migrate.run(unpreloaded, timescaledb="off").backend is Backend.POSTGRESQL
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert _recorded_backend(unpreloaded) == [("postgresql",)]


def test_auto_records_nothing_when_the_attempt_fails_for_another_reason(
    unpreloaded_server: str,
) -> None:
    """A role that may hold one connection: the attempt cannot connect, which says nothing
    about TimescaleDB, so nothing is recorded and the next run decides."""
    role = f"one_{secrets.token_hex(4)}"
    with psycopg.connect(unpreloaded_server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN CONNECTION LIMIT 1").format(sql.Identifier(role))
        )
    try:
        with scratch_database(unpreloaded_server, owner=role) as url:
            as_role = url.replace("courtyard@", f"{role}@", 1)
            with pytest.raises(migrate.MigrationError, match="nothing was recorded"):
                migrate.run(as_role)
            assert _recorded_backend(url) == []
            with psycopg.connect(unpreloaded_server, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("ALTER ROLE {} CONNECTION LIMIT -1").format(sql.Identifier(role))
                )
            assert migrate.run(as_role).backend is Backend.POSTGRESQL
    finally:
        with psycopg.connect(unpreloaded_server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
