"""Fixtures for ingest tests: an in-process IngestService, a private broker, a fresh database."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest

from courtyard.embedded import EmbeddedMosquitto
from ingest.service import IngestService
from ingest.settings import IngestSettings
from store.records import CommittedBatch
from store.settings import StoreSettings
from tests.support.mqtt import Publisher
from tests.support.waiting import wait_for

Z2M_BASES = {"zigbee2mqtt": "garden-court", "base": "garden-court", "zigbee": "river-view"}


class RunningIngest:
    """An IngestService under test, with what it handed on and a database to look into."""

    def __init__(self, service: IngestService, database_url: str) -> None:
        self.service = service
        self.database_url = database_url
        self.committed: list[CommittedBatch] = []

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with psycopg.connect(self.database_url) as conn:
            return list(conn.execute(sql.encode(), params).fetchall())

    def scalar(self, sql: str, params: tuple[object, ...] = ()) -> object:
        return self.query(sql, params)[0][0]

    def wait_for_count(self, sql: str, expected: int, timeout_s: float = 20.0) -> None:
        wait_for(
            lambda: self.scalar(sql) == expected,
            timeout_s=timeout_s,
            what=f"{sql} == {expected} (now {self.scalar(sql)})",
        )


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

    def start(**overrides: object) -> RunningIngest:
        settings = ingest_settings.model_copy(update=overrides)
        running: RunningIngest
        service = IngestService(
            settings,
            StoreSettings(url=database_url),
            on_committed=lambda batch: running.committed.append(batch),
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
