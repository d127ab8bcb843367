"""Page tests read English pages, whose texts they can assert: the browser asks for English and
the world's people (whose own setting comes first, zh-CN by default) read English too."""

from __future__ import annotations

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.api.world import World


@pytest.fixture
def world(world: World) -> World:
    with psycopg.connect(world.url) as conn:
        conn.execute("UPDATE people SET language = 'en'")
    return world


@pytest.fixture
def client(client: TestClient) -> TestClient:
    client.headers["Accept-Language"] = "en"
    return client
