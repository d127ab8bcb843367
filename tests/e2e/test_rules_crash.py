"""Kill the rules engine with SIGKILL while alerts keep coming, restart it, and check that no
alert is lost or raised twice and that every notification reaches its receiver exactly once
(after the receiver drops redeliveries by their Idempotency-Key, as docs/webhooks.md says)."""

from __future__ import annotations

import random
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg
import pytest

from store.places import provisioning
from tests.rules.notify.receivers import documented_receiver
from tests.support.ingest import RunningIngest
from tests.support.mqtt import Publisher
from tests.support.processes import CourtyardProcess, courtyard_env
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

SITE = "crash-court"
PUMPS = [f"pump-{i:02d}" for i in range(12)]
RULES = """
rules:
  - id: pump-current-high
    kind: threshold
    category: maintenance
    severity: warning
    params: {metric: current_a, op: ">", value: 12.0, clear_value: 10.0}
"""
SECRET = "crash-test-secret"


def scalar(database_url: str, sql: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(sql.encode()).fetchone()
    assert row is not None
    return int(row[0])


def publish_current(publisher: Publisher, pump: str, value: float, ts: datetime) -> None:
    publisher.publish(
        f"courtyard/v1/{SITE}/{pump}/telemetry",
        orjson.dumps({"ts": ts.isoformat(), "readings": {"current_a": value}}),
    )


def test_sigkill_of_the_rules_engine_loses_and_doubles_nothing(
    start_ingest: Callable[..., RunningIngest],
    publisher: Publisher,
    database_url: str,
    tmp_path: Path,
) -> None:
    ingest = start_ingest()
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(RULES)
    with ExitStack() as cleanup, documented_receiver(SECRET) as receiver:
        with psycopg.connect(database_url) as conn:
            provisioning.upsert_site(conn, SITE, "Crash Court", "Asia/Shanghai")
            provisioning.upsert_person(
                conn, "mgr-1", "Manager", "manager", channels={"webhook": receiver.url}
            )
            provisioning.assign(conn, "mgr-1", SITE, "manager")
        engine = CourtyardProcess(
            ["rules", "--rules-file", str(rules_file)],
            courtyard_env(
                database_url=database_url,
                rules__tick_s="0.2",
                rules__refresh_s="0.5",
                notify__webhook_secret=SECRET,
                notify__allowed_destinations="127.0.0.1",  # the receiver's
                notify__poll_interval_s="0.2",
                # A killed dispatcher's claimed rows come back when their lease ends: short
                # here, so the redelivery happens within the test.
                notify__webhook_timeout_s="2",
                notify__apprise_timeout_s="2",
                notify__lease_s="8",
            ),
            tmp_path,
            "rules",
        )
        engine.start()
        cleanup.callback(lambda: engine.running and engine.kill())
        wait_for(
            lambda: scalar(database_url, "SELECT count(*) FROM feed_cursors") == 1,
            timeout_s=60,
            what="the engine to own the site",
        )

        rng = random.Random(7)
        t = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
        cycles = 0
        for round_ in range(6):
            for pump in PUMPS:  # each pump: up (raise), then down (auto-resolve)
                publish_current(publisher, pump, 13.0 + rng.random(), t)
                publish_current(publisher, pump, 8.0, t + timedelta(seconds=30))
            t += timedelta(minutes=1)
            cycles += len(PUMPS)
            ingest.wait_for_count("SELECT count(*) FROM readings", 2 * cycles, timeout_s=60)
            if round_ in (1, 3, 4):
                # Kill it while it is working through what just arrived.
                wait_for(
                    lambda: scalar(database_url, "SELECT count(*) FROM alert_changes") > 0,
                    timeout_s=60,
                    what="some work done",
                )
                engine.kill()
                engine.start()

        expected_changes = 2 * cycles  # a raise and an auto-resolve per cycle
        wait_for(
            lambda: scalar(database_url, "SELECT count(*) FROM alert_changes") >= expected_changes,
            timeout_s=120,
            what=f"{expected_changes} alert changes",
        )
        wait_for(
            lambda: len(receiver.received) >= expected_changes,
            timeout_s=120,
            what=f"{expected_changes} notifications received",
        )
        wait_for(
            lambda: (
                scalar(database_url, "SELECT count(*) FROM notifications WHERE status = 'sent'")
                >= expected_changes
            ),
            timeout_s=60,
            what="every delivery recorded",
        )
        assert engine.terminate() == 0, engine.log()

    assert scalar(database_url, "SELECT count(*) FROM alerts") == cycles
    assert scalar(database_url, "SELECT count(*) FROM alert_changes") == expected_changes
    assert (
        scalar(
            database_url,
            "SELECT count(*) FROM (SELECT alert_id, change FROM alert_changes "
            "GROUP BY 1, 2 HAVING count(*) > 1) d",
        )
        == 0
    )
    assert scalar(database_url, "SELECT count(*) FROM alerts WHERE status <> 'resolved'") == 0
    # One outbox row per change and receiver; each delivered, and accepted once by the receiver.
    assert scalar(database_url, "SELECT count(*) FROM notifications") == expected_changes
    assert scalar(database_url, "SELECT count(*) FROM notifications WHERE status = 'sent'") == (
        expected_changes
    )
    assert len(receiver.received) == expected_changes  # accepted: signed, and new keys only
    assert len(set(receiver.hits)) == expected_changes  # distinct Idempotency-Keys
    assert engine.starts == 4
