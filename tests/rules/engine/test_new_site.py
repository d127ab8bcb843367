"""`courtyard rules` as its own process evaluates a site's first data, whenever it meets the site:
data stored before the engine started, and a site that appears a second after it did."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import orjson
import psycopg

from tests.support.ingest import RunningIngest
from tests.support.mqtt import Publisher
from tests.support.processes import CourtyardProcess, courtyard_env
from tests.support.waiting import wait_for


def publish_leak(publisher: Publisher, site: str) -> None:
    leak = {"ts": datetime.now(UTC).isoformat(), "type": "water_leak", "subject": "", "attrs": {}}
    publisher.publish(f"courtyard/v1/{site}/leak-1/event", orjson.dumps(leak))
    publisher.flush()


def leak_alerts(database_url: str) -> list[tuple[str, str, int]]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT site_id, subject, occurrences FROM alerts WHERE rule_id = 'water-leak' "
            "ORDER BY site_id"
        ).fetchall()
    return [(str(site), str(subject), int(n)) for site, subject, n in rows]


def cursor_sites(database_url: str) -> list[str]:
    with psycopg.connect(database_url) as conn:
        return [str(r[0]) for r in conn.execute("SELECT site_id FROM feed_cursors").fetchall()]


def test_a_leak_at_a_site_new_to_the_engine_raises_its_alert(
    start_ingest: Callable[..., RunningIngest],
    publisher: Publisher,
    database_url: str,
    tmp_path: Path,
) -> None:
    ingest = start_ingest()
    # Stored before any engine ran: the engine meets this site at its start.
    publish_leak(publisher, "old-court")
    ingest.wait_for_count("SELECT count(*) FROM events", 1)
    engine = CourtyardProcess(
        ["rules"],  # the shipped default rules, water-leak among them
        courtyard_env(
            database_url=database_url,
            # An hour: only the feed can make the engine notice the new site in this test.
            rules__refresh_s="3600",
            rules__dispatch="false",
        ),
        tmp_path,
        "rules",
    )
    with ExitStack() as cleanup:
        engine.start()
        cleanup.callback(lambda: engine.running and engine.kill())
        wait_for(
            lambda: cursor_sites(database_url) == ["old-court"],
            timeout_s=60,
            what="the engine to own the first site",
        )
        publish_leak(publisher, "new-court")  # a site nobody has heard of, a moment later
        try:
            wait_for(
                lambda: len(leak_alerts(database_url)) == 2,
                timeout_s=30,
                what="an alert for each leak",
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{engine.log()}") from None
        assert engine.terminate() == 0, engine.log()
    assert leak_alerts(database_url) == [("new-court", "leak-1", 1), ("old-court", "leak-1", 1)]
