"""The checks the API makes before a write: who an alert may be assigned to
(store.places.place_reads.has_assignment_at_site) and which time zones a site or household
may be given (store.server.is_known_zone)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator

import psycopg
import pytest
from psycopg.rows import TupleRow

from store import server
from store.places import place_reads, provisioning

AsyncConn = psycopg.AsyncConnection[TupleRow]


@pytest.fixture
def url(database_url: str) -> Iterator[str]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        provisioning.upsert_site(conn, "court", "Court", "Asia/Shanghai")
        provisioning.upsert_site(conn, "river", "River", "UTC")
        provisioning.upsert_household(conn, "court", "h1", "Flat 1")
        provisioning.upsert_person(conn, "wei", "Wei", "volunteer")
        provisioning.upsert_person(conn, "fang", "Fang", "staff")
        provisioning.upsert_person(conn, "nobody", "Nobody", "volunteer")
        provisioning.assign(conn, "wei", "court", "primary", household_id="h1")
        provisioning.assign(conn, "fang", "river", "staff")
    yield database_url


def _ask(url: str, question: Callable[[AsyncConn], Awaitable[bool]]) -> bool:
    async def run() -> bool:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            return await question(conn)

    return asyncio.run(run())


@pytest.mark.parametrize(
    ("person", "site", "expected"),
    [
        ("wei", "court", True),  # a household's volunteer counts for its site
        ("fang", "river", True),  # site staff
        ("fang", "court", False),  # assigned, but at another site
        ("nobody", "court", False),  # a person without any assignment
        ("ghost", "court", False),  # no such person
    ],
)
def test_has_assignment_at_site(url: str, person: str, site: str, expected: bool) -> None:
    assert _ask(url, lambda c: place_reads.has_assignment_at_site(c, person, site)) is expected


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("Asia/Shanghai", True),
        ("UTC", True),
        ("asia/shanghai", False),  # names are exact
        ("Mars/Olympus_Mons", False),
        ("", False),
    ],
)
def test_is_known_zone(url: str, zone: str, expected: bool) -> None:
    assert _ask(url, lambda c: server.is_known_zone(c, zone)) is expected
