"""API fixtures: the two-site world, and the app in-process (TestClient runs its lifespan)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from courtyard.cli import main
from courtyard.embedded import EmbeddedMosquitto
from store.settings import StoreSettings
from tests.api import world as world_module
from tests.api.rule_service import ThresholdRuleService
from tests.api.world import World


@pytest.fixture
def api_settings(mqtt_broker: EmbeddedMosquitto) -> ApiSettings:
    # auth_cache_s=0: a revoked token or a new assignment counts at once in tests.
    return ApiSettings(mqtt_url=mqtt_broker.url, pool_min_size=1, pool_max_size=4, auth_cache_s=0)


@pytest.fixture
def world(database_url: str) -> World:
    return world_module.build(database_url)


@pytest.fixture
def client(database_url: str, api_settings: ApiSettings) -> Iterator[TestClient]:
    app = create_app(
        api_settings,
        StoreSettings(url=database_url),
        rule_service=ThresholdRuleService(database_url),
    )
    # https: the session cookie is Secure, and httpx sends it only over https.
    with TestClient(app, base_url="https://testserver") as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


#: Runs `courtyard ARGS` (reading `stdin`) on the world's database; returns its exit code, stdout
#: and stderr.
Courtyard = Callable[..., tuple[int, str, str]]


@pytest.fixture
def courtyard(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> Courtyard:
    """`courtyard` on the world's database, in this process."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("COURTYARD_DATABASE_URL", world.url)

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        capsys.readouterr()  # not what the test client logged before
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run
