"""Test servers: embedded PostgreSQL and Mosquitto per session, a fresh database per test, Settings.

Set COURTYARD_TEST_DATABASE_URL (a maintenance-database URL, e.g. of a TimescaleDB server) to
test against that server instead of an embedded one; tests create and drop their own databases.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from courtyard.embedded import EmbeddedMosquitto, EmbeddedPostgres, service_account
from courtyard.settings import ENV_PREFIX, Settings
from ingest.service import IngestService
from ingest.settings import IngestSettings
from store.backend import Backend, backend_of
from store.settings import StoreSettings
from tests.support.ingest import RunningIngest
from tests.support.mqtt import Publisher
from tests.support.waiting import wait_for

TEST_DATABASE_ENV = "COURTYARD_TEST_DATABASE_URL"
#: Zigbee2MQTT base topics the in-process ingest listens to, and their sites.
Z2M_BASES = {"zigbee2mqtt": "garden-court", "base": "garden-court", "zigbee": "river-view"}
#: How long cloning may wait for the template's last sessions (e.g. TimescaleDB's scheduler).
_CLONE_TIMEOUT_S = 10.0


def database_url_for(url: str, database: str) -> str:
    """`url` pointing at another database on the same server."""
    return urlunsplit(urlsplit(url)._replace(path="/" + database))


@pytest.fixture(scope="session")
def servers_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A directory the embedded servers can use, also when the tests run as root.

    As root the servers run as an unprivileged account, which cannot enter pytest's temp root
    (/tmp/pytest-of-root is 0700); so then this is a fresh directory in /tmp owned by that account.
    """
    account = service_account()
    if account is None:
        yield tmp_path_factory.mktemp("servers")
        return
    root = Path(tempfile.mkdtemp(prefix="courtyard-tests-"))
    os.chown(root, account.uid, account.gid)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def server_dir(servers_root: Path) -> Path:
    """A fresh data directory for a server this test starts itself."""
    return Path(tempfile.mkdtemp(prefix="t-", dir=servers_root))


@pytest.fixture(scope="session")
def pg_server(servers_root: Path) -> Iterator[EmbeddedPostgres | None]:
    """The session's embedded PostgreSQL (crash tests may `restart()` it); None when external."""
    if os.environ.get(TEST_DATABASE_ENV):
        yield None
        return
    with EmbeddedPostgres(servers_root / "postgres") as server:
        yield server


@pytest.fixture(scope="session")
def postgres_url(pg_server: EmbeddedPostgres | None) -> str:
    """URL of the server's maintenance database (a superuser that may create databases)."""
    return pg_server.url if pg_server is not None else os.environ[TEST_DATABASE_ENV]


@pytest.fixture(scope="session")
def template_database(postgres_url: str) -> Iterator[str]:
    """Name of a database migrated once per session, which `database_url` clones."""
    from store import migrate

    name = f"courtyard_tpl_{secrets.token_hex(4)}"
    ident = sql.Identifier(name)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
    try:
        migrate.run(database_url_for(postgres_url, name))
        _unschedule_timescaledb_jobs(database_url_for(postgres_url, name))
        # Cloning needs a template without sessions; TimescaleDB's job scheduler keeps one
        # open, so close the door and end what is still connected.
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(ident))
            conn.execute(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
        yield name
    finally:
        # A new connection: crash tests may have restarted the server meanwhile.
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))


def _unschedule_timescaledb_jobs(url: str) -> None:
    """TimescaleDB: keep its scheduler from running the policies (refresh, compression,
    retention) in every test's database on its own: that made tests slow and their aggregate
    depend on when a job happened to run. A test of a policy runs its job itself
    (`CALL run_job(...)`)."""
    with psycopg.connect(url, autocommit=True) as conn:
        if backend_of(conn) is Backend.TIMESCALEDB:
            conn.execute(
                "SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs"
                " WHERE hypertable_name IS NOT NULL"
            )


@pytest.fixture
def database_url(postgres_url: str, template_database: str) -> Iterator[str]:
    """URL of a fresh, migrated database for this test only, dropped afterwards."""
    name = f"test_{secrets.token_hex(6)}"
    create = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(name), sql.Identifier(template_database)
    )
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        deadline = time.monotonic() + _CLONE_TIMEOUT_S
        while True:
            try:
                conn.execute(create)
                break
            except psycopg.errors.ObjectInUse:  # a terminated session still winding down
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    try:
        yield database_url_for(postgres_url, name)
    finally:
        # The server may have been restarted by the test: reconnect for the drop.
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="session")
def mqtt_broker(servers_root: Path) -> Iterator[EmbeddedMosquitto]:
    """The session's broker; tests that restart or kill a broker use `fresh_broker`."""
    with EmbeddedMosquitto(servers_root / "mosquitto") as broker:
        yield broker


@pytest.fixture
def fresh_broker(server_dir: Path) -> Iterator[EmbeddedMosquitto]:
    """A private broker for this test, free to restart or kill."""
    with EmbeddedMosquitto(server_dir) as broker:
        yield broker


@pytest.fixture
def settings(
    database_url: str,
    mqtt_broker: EmbeddedMosquitto,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    """Settings for this test's database and the session broker; ignores COURTYARD_* and .env."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX) and name != TEST_DATABASE_ENV:
            monkeypatch.delenv(name)
    return Settings(  # type: ignore[call-arg]  # _env_file: pydantic-settings' init-only option
        _env_file=None,
        database_url=database_url,
        mqtt_url=mqtt_broker.url,
        data_dir=tmp_path / "data",
    ).resolved()


@pytest.fixture
def ingest_settings(fresh_broker: EmbeddedMosquitto) -> IngestSettings:
    return IngestSettings(
        mqtt_url=fresh_broker.url,
        client_id=f"ingest-{uuid.uuid4().hex[:8]}",
        zigbee2mqtt_bases=Z2M_BASES,
        batch_max_age_s=0.05,
    )


@pytest.fixture
def start_ingest(
    database_url: str, ingest_settings: IngestSettings
) -> Iterator[Callable[..., RunningIngest]]:
    started: list[RunningIngest] = []

    def start(retention_days: int = 365, **overrides: object) -> RunningIngest:
        settings = ingest_settings.model_copy(update=overrides)
        running: RunningIngest
        service = IngestService(
            settings,
            StoreSettings(url=database_url, retention_days=retention_days),
            on_committed=lambda: running.wake(),
        )
        running = RunningIngest(service, database_url)
        service.start()
        wait_for(service.subscriber.subscribed.is_set, timeout_s=10, what="subscription")
        started.append(running)
        return running

    yield start
    for running in started:
        running.service.stop()


@pytest.fixture
def ingest(start_ingest: Callable[..., RunningIngest]) -> RunningIngest:
    return start_ingest()


@pytest.fixture
def publisher(fresh_broker: EmbeddedMosquitto) -> Iterator[Publisher]:
    with Publisher(fresh_broker.url) as pub:
        yield pub
