"""RulesService end to end: MQTT -> ingest -> feed -> engine -> alert, with a restart."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import orjson
import psycopg
import pytest

from rules.clock import EventClock
from rules.service import RulesService
from rules.settings import RulesSettings
from store.settings import StoreSettings
from tests.rules.engine.compiled import HIGH_CURRENT
from tests.support.ingest import RunningIngest
from tests.support.mqtt import Publisher
from tests.support.waiting import wait_for


@pytest.fixture
def start_rules(database_url: str) -> Iterator[Callable[[], RulesService]]:
    started: list[RulesService] = []

    def start() -> RulesService:
        service = RulesService(
            RulesSettings(tick_s=0.2, refresh_s=0.5),
            StoreSettings(url=database_url),
            compile_rules=lambda conn, directory: [HIGH_CURRENT],
            clock=EventClock(),
        )
        service.start()
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


def alerts(database_url: str) -> list[tuple[str, str, int]]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT dedup_key, status, occurrences FROM alerts ORDER BY id")
        return [(str(k), str(s), int(n)) for k, s, n in rows.fetchall()]


def publish_currents(publisher: Publisher, values: list[float], start: datetime) -> None:
    for i, value in enumerate(values):
        ts = (start + timedelta(seconds=30 * i)).isoformat()
        publisher.publish(
            "courtyard/v1/north/pump-1/telemetry",
            orjson.dumps({"ts": ts, "readings": {"current_a": value}}),
        )


def test_published_breach_becomes_an_alert_and_a_restart_raises_nothing_again(
    ingest: RunningIngest,
    publisher: Publisher,
    start_rules: Callable[[], RulesService],
    database_url: str,
) -> None:
    # The site must exist before the engine can own it: the first reading registers it.
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    publish_currents(publisher, [10.0], t0)
    ingest.wait_for_count("SELECT count(*) FROM readings", 1)
    first = start_rules()
    wait_for(first.ready.is_set, timeout_s=20, what="engine ready")
    wait_for(lambda: first.engine is not None and first.engine.sites, timeout_s=20, what="sites")

    publish_currents(publisher, [13.0, 13.0, 13.5, 14.0], t0 + timedelta(minutes=1))
    key = "pump-current-high:north/pump-1:current_a"
    wait_for(lambda: alerts(database_url) == [(key, "open", 1)], timeout_s=20, what="alert")
    first.stop()

    publish_currents(publisher, [14.0, 14.5], t0 + timedelta(minutes=5))  # still firing
    ingest.wait_for_count("SELECT count(*) FROM readings", 7)
    second = start_rules()
    wait_for(
        lambda: second.engine is not None and second.engine.stats.batches >= 1,
        timeout_s=20,
        what="the restarted engine consumed the batch",
    )
    assert alerts(database_url) == [(key, "open", 1)]
