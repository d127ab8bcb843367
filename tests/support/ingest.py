"""RunningIngest: an IngestService under test, with what it handed on and its database."""

from __future__ import annotations

import psycopg

from ingest.service import IngestService
from store.records import CommittedBatch
from tests.support.waiting import wait_for


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
