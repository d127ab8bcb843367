"""Apply pending migrations in order; detect TimescaleDB or plain PostgreSQL and record which.

Safe to run twice and concurrently: a session advisory lock serialises runners, each migration
is applied in its own transaction together with its row in `schema_migrations`.
A migration is `migrations/NNNN_name.sql`, or a pair `NNNN_name.timescaledb.sql` /
`NNNN_name.postgresql.sql` when the two back ends need different DDL for the same surface.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg.rows import TupleRow

from store import timescale
from store.backend import Backend
from store.settings import StoreSettings

logger = logging.getLogger(__name__)

# Any constant works; it only has to be the same for every runner.
_MIGRATION_LOCK_KEY = 0x636F757274796172  # "courtyar"


class MigrationError(Exception):
    """The database cannot be brought to the current schema (the message says why)."""


@dataclass(frozen=True, slots=True)
class MigrationReport:
    backend: Backend
    applied: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Migration:
    version: str
    name: str
    sql_text: str


def run(
    url: str,
    *,
    timescaledb: str = "auto",
    retention_days: int = 365,
    compress_after_days: int = 7,
) -> MigrationReport:
    """Bring the database at `url` to the current schema; returns what was applied."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK_KEY,))
        try:
            _ensure_bookkeeping(conn)
            backend = _backend(conn, url, timescaledb)
            applied = tuple(
                _apply(conn, migration) for migration in pending_migrations(conn, backend)
            )
            if backend is Backend.TIMESCALEDB:
                timescale.apply_policies(
                    conn, retention_days=retention_days, compress_after_days=compress_after_days
                )
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK_KEY,))
    if applied:
        logger.info("applied migrations %s on %s", ", ".join(applied), backend)
    return MigrationReport(backend=backend, applied=applied)


def run_from_settings(settings: StoreSettings) -> MigrationReport:
    return run(
        settings.url,
        timescaledb=settings.timescaledb,
        retention_days=settings.retention_days,
        compress_after_days=settings.compress_after_days,
    )


def available_migrations(backend: Backend) -> list[Migration]:
    """Every migration for this back end, in version order."""
    chosen: dict[str, Migration] = {}
    for entry in resources.files("store.migrations").iterdir():
        if not entry.name.endswith(".sql"):
            continue
        stem = entry.name.removesuffix(".sql")
        name, _, variant = stem.partition(".")
        if variant and variant != backend:
            continue
        version = name.split("_", 1)[0]
        if version in chosen and not variant:
            continue  # a back-end specific file wins over a shared one
        chosen[version] = Migration(version=version, name=name, sql_text=entry.read_text("utf-8"))
    return [chosen[version] for version in sorted(chosen)]


def pending_migrations(conn: psycopg.Connection[TupleRow], backend: Backend) -> list[Migration]:
    done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
    return [m for m in available_migrations(backend) if m.version not in done]


def _ensure_bookkeeping(conn: psycopg.Connection[TupleRow]) -> None:
    conn.execute(
        """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version     text PRIMARY KEY,
            name        text NOT NULL,
            applied_at  timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE IF NOT EXISTS store_info (
            key     text PRIMARY KEY,
            value   text NOT NULL
        );
        """
    )


def _backend(conn: psycopg.Connection[TupleRow], url: str, wanted: str) -> Backend:
    row = conn.execute("SELECT value FROM store_info WHERE key = 'backend'").fetchone()
    if row is not None:
        recorded = Backend(str(row[0]))
        if wanted == "on" and recorded is not Backend.TIMESCALEDB:
            raise MigrationError(
                "COURTYARD_STORE__TIMESCALEDB=on but this database was created on plain PostgreSQL"
            )
        return recorded
    backend = Backend.POSTGRESQL
    if wanted != "off":
        reason = _timescaledb_unusable(conn, url)
        if reason is None:
            backend = Backend.TIMESCALEDB
        elif wanted == "on":
            raise MigrationError(f"COURTYARD_STORE__TIMESCALEDB=on but {reason}")
        else:
            logger.warning(
                "TimescaleDB is not used: %s. This database is now recorded as plain PostgreSQL "
                "and stays so; set COURTYARD_STORE__TIMESCALEDB=off to silence this, or fix the "
                "above before migrating a new database",
                reason,
            )
    conn.execute("INSERT INTO store_info (key, value) VALUES ('backend', %s)", (backend.value,))
    return backend


def _timescaledb_unusable(conn: psycopg.Connection[TupleRow], url: str) -> str | None:
    """Create the extension if need be; None when it is there, else why it cannot be used and
    how to enable it. Raises MigrationError on any other error (a lost connection, a timeout):
    nothing is recorded then, so the next run decides again."""
    installed = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'),"
        " EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')"
    ).fetchone()
    assert installed is not None
    if installed[0]:
        return None
    if not installed[1]:
        return (
            "the timescaledb extension is not installed on the database server (install "
            "TimescaleDB 2.x for this PostgreSQL, add 'timescaledb' to shared_preload_libraries "
            "and restart the server)"
        )
    # Its own connection: TimescaleDB reports a missing preload as FATAL and closes the session,
    # and this one holds the migration lock.
    try:
        with psycopg.connect(url, autocommit=True) as attempt:
            attempt.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    except psycopg.errors.InsufficientPrivilege as exc:
        return (
            f"role {conn.info.user!r} may not create the timescaledb extension in database "
            f"{conn.info.dbname!r} ({exc.diag.message_primary}): create it once as a superuser "
            "(CREATE EXTENSION timescaledb) or run migrations as the database's owner"
        )
    except psycopg.Error as exc:
        message = exc.diag.message_primary or str(exc)
        if "preload" in message:
            return (
                f"the server does not preload TimescaleDB ({message}): add 'timescaledb' to "
                "shared_preload_libraries in postgresql.conf and restart the server"
            )
        raise MigrationError(
            f"could not tell whether TimescaleDB can be used ({message}); nothing was "
            "recorded: run the migration again"
        ) from exc
    return None


def _apply(conn: psycopg.Connection[TupleRow], migration: Migration) -> str:
    label = f"{migration.version}_{migration.name.split('_', 1)[-1]}"
    with conn.transaction():
        # bytes: a migration file is trusted SQL of ours, run as one multi-statement script
        conn.execute(migration.sql_text.encode())
        conn.execute(
            "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
            (migration.version, migration.name),
        )
    return label
