"""Fixtures of the notification tests: a fresh database holding the community of community.py."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from tests.rules.notify.community import SETUP, Conn


@pytest.fixture
def conn(database_url: str) -> Iterator[Conn]:
    with psycopg.connect(database_url) as connection:
        connection.execute(SETUP)
        connection.commit()
        yield connection
