"""RunningIngest: an IngestService under test, with its wake-ups, its feed and its database."""

from __future__ import annotations

import psycopg

from ingest.service import IngestService
from store.places.directory import sites
from store.readings import feed
from store.readings.feed import FeedBatch
from tests.support.waiting import wait_for


class RunningIngest:
    """An IngestService under test, with how often it woke rules and a database to look into."""

    def __init__(self, service: IngestService, database_url: str) -> None:
        self.service = service
        self.database_url = database_url
        #: Wake-ups handed to an in-process rules engine: one per commit.
        self.wake_ups = 0

    def wake(self) -> None:
        self.wake_ups += 1

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

    def fed(self) -> list[FeedBatch]:
        """The committed-batch feed, oldest first: what the rules engines read."""
        with psycopg.connect(self.database_url) as conn:
            site_ids = [s.id for s in sites(conn)]
            return feed.read_after(conn, 0, site_ids, limit=1_000_000)

    def fed_readings(self) -> list[tuple[str, float]]:
        """(metric, value) of each reading in the feed, in feed order."""
        batches = self.fed()
        with psycopg.connect(self.database_url) as conn:
            names = feed.series_names(conn, {int(i) for b in batches for i in b.series_ids})
        return [
            (names[int(sid)][2], float(value))
            for b in batches
            for sid, value in zip(b.series_ids, b.values, strict=True)
        ]
