"""RulesService through a database restart, on a PostgreSQL server of its own: the engine drops
its connections, comes back within its capped backoff of the database's return, starts again
from what the store holds, and evaluates what was written meanwhile."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from courtyard.embedded import EmbeddedPostgres
from rules.clock import EventClock
from rules.service import RulesService
from rules.settings import RulesSettings
from store.readings.writer import BatchWriter
from store.settings import StoreSettings
from tests.rules.engine.compiled import HIGH_CURRENT
from tests.rules.engine.test_engine import currents
from tests.support.outages import migrated_database, own_postgres
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
KEY = "pump-current-high:north/pump-1:current_a"


@pytest.fixture
def own_server(server_dir: Path) -> Iterator[EmbeddedPostgres]:
    with own_postgres(server_dir) as server:
        yield server


def alerts(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT dedup_key, status FROM alerts ORDER BY id").fetchall()
    return [(str(key), str(status)) for key, status in rows]


def test_the_engine_comes_back_after_a_database_restart(own_server: EmbeddedPostgres) -> None:
    url = migrated_database(own_server)
    with psycopg.connect(url) as conn:
        BatchWriter().write(conn, [currents([10.0], T0)])  # the site, before the engine
    service = RulesService(
        RulesSettings(tick_s=0.2, refresh_s=0.5, dispatch=False),
        StoreSettings(url=url),
        compile_rules=lambda conn, directory: [HIGH_CURRENT],
        clock=EventClock(),
    )
    service.start()
    try:
        wait_for(service.ready.is_set, timeout_s=20, what="engine ready")
        before = service.engine
        assert before is not None and before.sites == {"north"}

        own_server.stop()
        time.sleep(3.0)  # longer than the backoff's cap: several failed reconnections
        own_server.start()
        with psycopg.connect(url) as conn:
            BatchWriter().write(conn, [currents([13.0, 13.5, 14.0], T0.replace(minute=1))])

        wait_for(lambda: alerts(url) == [(KEY, "open")], timeout_s=15, what="the alert")
        after = service.engine
        assert after is not None and after is not before, "a new engine, from the store"
        assert after.sites == {"north"}
        assert service.failed is None
    finally:
        service.stop()
