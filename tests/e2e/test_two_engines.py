"""Two rules engines against one database: they split the sites, and when one dies the other
takes its sites over. Each expected alert is raised once, and notified once per receiver."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import replace

import psycopg
import pytest

from courtyard.embedded import EmbeddedMosquitto
from courtyard.provision import Person, provision
from device_sims.scenario import load_scenario
from rules import ruleset
from tests.e2e.platform import (
    in_time,
    matches,
    publish,
    raised_alerts,
    recent,
    rules_engine,
)
from tests.support.ingest import RunningIngest
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

SCENARIOS = ("incident-pump-failure", "incident-sos", "incident-smoke-alarm")


def test_two_engines_split_sites_and_take_over_without_duplicates(
    database_url: str,
    fresh_broker: EmbeddedMosquitto,
    start_ingest: Callable[..., RunningIngest],
) -> None:
    # One Zigbee2MQTT base topic per site, as one gateway per community would have.
    scenarios = [
        replace(recent(load_scenario(name)), z2m_base=f"zigbee2mqtt-{i}")
        for i, name in enumerate(SCENARIOS)
    ]
    with psycopg.connect(database_url) as conn:
        ruleset.install(conn, None)
        for scenario in scenarios:
            staff = Person(
                f"staff-{scenario.site.id}",
                "Staff",
                "manager",
                [("manager", None), ("staff", None)],
                channels={"apprise": ["json://127.0.0.1:9/unreachable"]},
            )
            provision(conn, scenario, [staff])
    ingest = start_ingest(zigbee2mqtt_bases={s.z2m_base: s.site.id for s in scenarios})
    with ExitStack() as stack:
        first = stack.enter_context(rules_engine(database_url, ruleset.StoredRules()))
        second = stack.enter_context(rules_engine(database_url, ruleset.StoredRules()))

        def owned() -> list[frozenset[str]]:
            return [e.sites if e else frozenset() for e in (first.engine, second.engine)]

        wait_for(
            lambda: sorted(map(len, owned())) == [1, 2],
            timeout_s=60,
            what=f"the engines to split 3 sites (own {owned()})",
        )
        a, b = owned()
        assert a.isdisjoint(b) and a | b == {s.site.id for s in scenarios}

        publish(scenarios[0], fresh_broker, ingest)
        second.stop()  # dies: the first takes its sites over
        wait_for(lambda: len(owned()[0]) == 3, timeout_s=60, what="the take-over")
        for scenario in scenarios[1:]:
            publish(scenario, fresh_broker, ingest)

        def caught_up() -> object:
            """True once the survivor evaluated the newest batch, else what it shows."""
            engine = first.engine
            with psycopg.connect(database_url) as conn:
                row = conn.execute("SELECT coalesce(max(id), 0) FROM batch_feed").fetchone()
                cursors = conn.execute("SELECT site_id, batch_id FROM feed_cursors").fetchall()
            latest = int(row[0]) if row else 0
            if engine is not None and engine.stats.last_batch_id >= latest:
                return True
            return (latest, cursors, engine and engine.stats)

        try:
            wait_for(lambda: caught_up() is True, timeout_s=120, what="the survivor")
        except AssertionError:
            raise AssertionError(f"the survivor did not catch up: {caught_up()}") from None

    raised = raised_alerts(database_url)
    for scenario in scenarios:
        for expected in scenario.expected_alerts:
            found = [a for a in raised if matches(a, expected)]
            assert len(found) == 1, f"{scenario.name}: {expected} -> {found}"
            assert in_time(found[0].first_seen, expected)
    with psycopg.connect(database_url) as conn:
        duplicates = conn.execute(
            "SELECT count(*) FROM (SELECT alert_id, change FROM alert_changes "
            "WHERE change IN ('raised', 'auto_resolved') GROUP BY 1, 2 HAVING count(*) > 1) d"
        ).fetchone()
        per_receiver = conn.execute(
            "SELECT count(*), count(DISTINCT (alert_change_id, receiver, channel)) "
            "FROM notifications"
        ).fetchone()
    assert duplicates == (0,)
    assert per_receiver is not None and per_receiver[0] == per_receiver[1] > 0
