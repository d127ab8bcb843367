"""`courtyard status`: the services it sees through their database sessions (ingest, rules
engines with their sites, API processes), the feed and outbox backlogs, open alerts, rejects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import orjson
import psycopg
import pytest

from courtyard import status
from courtyard.cli import main
from courtyard.ports import free_port
from courtyard.settings import Settings
from courtyard.up import ApiServer
from ingest.service import IngestService
from rules import ruleset
from rules.service import RulesService
from store.places import provisioning
from tests.support.mqtt import Publisher
from tests.support.processes import courtyard_env
from tests.support.waiting import wait_for

SITES = ("north-court", "south-court")


def collect(settings: Settings) -> status.Status:
    with psycopg.connect(settings.store.url) as conn:
        return status.collect(conn, "db", settings.store.application_name, None)


@contextmanager
def services(settings: Settings, engines: int) -> Iterator[list[RulesService]]:
    """Ingest, `engines` rules engines (outbox not delivered) and the API, in this process."""
    rules_settings = settings.rules.model_copy(update={"refresh_s": 0.3, "dispatch": False})
    with ExitStack() as stack:
        ingest = IngestService(settings.ingest, settings.store)
        ingest.start()
        stack.callback(ingest.stop)
        wait_for(ingest.subscriber.subscribed.is_set, timeout_s=10, what="the subscription")
        started = []
        for _ in range(engines):
            engine = RulesService(rules_settings, settings.store, settings.notify)
            engine.start()
            stack.callback(engine.stop)
            started.append(engine)
        api = ApiServer(settings.model_copy(update={"http_port": free_port()}))
        stack.callback(api.stop)
        api.start()
        yield started


def publish(settings: Settings, topic: str, payload: bytes) -> None:
    with Publisher(settings.mqtt_url) as publisher:
        publisher.publish(topic, payload)
        publisher.flush()


def test_status_shows_services_sites_backlogs_alerts_and_rejects(settings: Settings) -> None:
    with psycopg.connect(settings.store.url) as conn:
        ruleset.install(conn, None)
        for site in SITES:
            provisioning.upsert_site(conn, site, site, "Asia/Shanghai")
            # Reachable by nobody: with the outbox not delivered, its notification stays queued.
            provisioning.upsert_person(
                conn, f"mgr-{site}", "Manager", "manager",
                channels={"apprise": ["json://127.0.0.1:9/unreachable"]},
            )  # fmt: skip
            provisioning.assign(conn, f"mgr-{site}", site, "manager")
    nothing = collect(settings)
    assert (nothing.ingest, nothing.rules, nothing.api) == ([], [], [])

    with services(settings, engines=2):

        def split() -> bool:
            engines = collect(settings).rules
            return sorted(len(e.sites) for e in engines) == [1, 1]

        wait_for(split, timeout_s=30, what="two engines to own one site each")
        now = datetime.now(UTC).isoformat()
        # The reject first: a batch of rejects only touches no site, and counts in the feed's
        # backlog until every site's engine has evaluated a later batch.
        publish(settings, "courtyard/v1/south-court/tank-1/telemetry", b"{not json")
        leak = {"ts": now, "type": "water_leak", "subject": "", "attrs": {}}
        publish(settings, "courtyard/v1/north-court/leak-1/event", orjson.dumps(leak))
        level = {"ts": now, "readings": {"level_pct": 50.0}}
        publish(settings, "courtyard/v1/south-court/tank-1/telemetry", orjson.dumps(level))
        wait_for(
            lambda: collect(settings).alerts["open"]["critical"] == 1,
            timeout_s=30,
            what="the leak alert",
        )
        wait_for(lambda: collect(settings).feed_backlog == 0, timeout_s=30, what="no backlog")
        running = collect(settings)

    assert len(running.ingest) == 1
    assert len(running.api) == 1 and running.api_pool_sessions >= 1
    assert sorted(s for e in running.rules for s in e.sites) == sorted(SITES)
    assert {e.slot for e in running.rules} == {0, 1}
    assert running.alerts["open"] == {"critical": 1, "warning": 0, "info": 0}
    assert running.outbox_backlog == 1  # the manager of north-court, not delivered
    assert running.rejected_last_hour == 1
    text = status.render(running)
    assert "Ingest workers: 1" in text and "Rules engines: 2" in text
    assert "north-court" in text and "south-court" in text
    assert "API processes: 1" in text
    assert "Open alerts: 1 critical, 0 warning, 0 info" in text
    assert "Rejected messages in the last hour: 1" in text

    # Everything stopped: no service is left (their sessions end a moment after they close),
    # and what is committed now waits in the feed.
    def none_left() -> bool:
        left = collect(settings)
        return (left.ingest, left.rules, left.api) == ([], [], [])

    wait_for(none_left, timeout_s=10, what="the sessions of stopped services to end")
    with services(settings, engines=0):
        reading = {"ts": datetime.now(UTC).isoformat(), "readings": {"level_pct": 51.0}}
        publish(settings, "courtyard/v1/south-court/tank-1/telemetry", orjson.dumps(reading))
        wait_for(lambda: collect(settings).feed_backlog >= 1, timeout_s=30, what="a backlog")
        lagging = collect(settings)
    assert lagging.rules == [] and len(lagging.ingest) == 1
    assert "Rules feed backlog: 1 committed batches not yet evaluated" in status.render(lagging)


def test_status_command_prints_json(settings: Settings, tmp_path: Path) -> None:
    env = courtyard_env(database_url=settings.store.url, data_dir=str(tmp_path / "data"))
    result = subprocess.run(
        [sys.executable, "-m", "courtyard", "status", "--json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["ingest"] == [] and found["rules"] == [] and found["up"] is None
    assert found["alerts"]["open"] == {"critical": 0, "warning": 0, "info": 0}
    assert found["feed_backlog"] == 0 and found["outbox_backlog"] == 0


def test_status_without_a_database_or_a_running_up_says_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in list(os.environ):
        if name.startswith("COURTYARD_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COURTYARD_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # no .env
    assert main(["status"]) == 2
    error = capsys.readouterr().err
    assert "COURTYARD_DATABASE_URL is not set" in error and str(tmp_path) in error


def test_the_record_of_a_running_up_lives_as_long_as_its_process(
    settings: Settings, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"data_dir": tmp_path / "data"})
    with status.running_record(settings, "http://127.0.0.1:1/") as path:
        assert path is not None and path.stat().st_mode & 0o077 == 0
        record = status.read_record(settings.data_dir)
        assert record is not None
        assert record["pid"] == os.getpid()
        assert record["database_url"] == settings.database_url
    assert status.read_record(settings.data_dir) is None
    # A record left by a process that is gone (killed) is ignored.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    (settings.data_dir / status.RECORD_NAME).write_text(
        json.dumps({"pid": int(dead.stdout), "database_url": "postgresql://x@h/db"})
    )
    assert status.read_record(settings.data_dir) is None


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:secret@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql://u@h:5432/db", "postgresql://u@h:5432/db"),
        ("mqtt://dev:p@ss@h:1883", "mqtt://dev:***@h:1883"),
        ("postgresql://h/db", "postgresql://h/db"),
    ],
)
def test_urls_are_shown_without_their_password(url: str, shown: str) -> None:
    assert status.without_password(url) == shown


def test_users_and_tokens_find_the_database_of_a_running_up(
    settings: Settings,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in list(os.environ):
        if name.startswith("COURTYARD_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COURTYARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # no .env
    assert main(["users", "add", "ops", "--role", "operator"]) == 2
    assert "COURTYARD_DATABASE_URL" in capsys.readouterr().err

    with status.running_record(settings.model_copy(update={"data_dir": tmp_path / "data"}), ""):
        assert main(["users", "add", "ops", "--role", "operator"]) == 0
        assert main(["tokens", "create", "ops", "--name", "ci"]) == 0
    with psycopg.connect(database_url) as conn:
        tokens = conn.execute("SELECT user_id, name FROM api_tokens").fetchall()
    assert tokens == [("ops", "ci")]
