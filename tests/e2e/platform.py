"""Run a simulator scenario through the whole platform in this process: Mosquitto, ingest, the
store, the rules engine (on event time, rules/clock.py) — and read back the alerts it raised."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from courtyard.embedded import EmbeddedMosquitto
from courtyard.provision import Person, provision
from device_sims.publisher import MqttSink
from device_sims.runner import run
from device_sims.scenario import ExpectedAlert, Scenario, load_scenario
from device_sims.summary import RunSummary
from rules.service import RuleCompiler, RulesService
from rules.settings import RulesSettings
from store.readings import feed
from store.settings import StoreSettings
from tests.support.ingest import RunningIngest
from tests.support.waiting import wait_for

WEEK_S = 7 * 86400.0


@dataclass(frozen=True, slots=True)
class RaisedAlert:
    id: int
    rule_id: str
    kind: str
    subject: str
    metric: str | None
    category: str
    severity: str
    first_seen: datetime
    occurrences: int
    status: str


def recent(scenario: Scenario) -> Scenario:
    """The scenario moved by whole weeks so that it ends in the past week: timestamps pass
    ingest's retention check, and weekday and time of day stay what the scenario says."""
    weeks = math.floor((datetime.now(UTC) - scenario.end).total_seconds() / WEEK_S)
    return scenario.with_overrides(start=scenario.start + timedelta(weeks=weeks))


def raised_alerts(database_url: str) -> list[RaisedAlert]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            """
            SELECT a.id, a.rule_id, coalesce(r.kind, ''), a.subject, a.metric, a.category,
                   a.severity, a.first_seen, a.occurrences, a.status
            FROM alerts a LEFT JOIN rules r ON r.id = a.rule_id
            ORDER BY a.first_seen, a.id
            """
        ).fetchall()
    return [RaisedAlert(*row) for row in rows]


#: A status message (a last will) has no device time: on event time it is placed after the
#: newest data that arrived before it, which may be a moment before the incident's start.
STATUS_SLACK = timedelta(minutes=1)


def in_time(first_seen: datetime, expected: ExpectedAlert) -> bool:
    return expected.not_before - STATUS_SLACK <= first_seen <= expected.deadline


def matches(alert: RaisedAlert, expected: ExpectedAlert) -> bool:
    return (
        alert.kind == expected.rule
        and alert.subject == expected.subject
        and alert.category == expected.category
        and (expected.metric is None or alert.metric == expected.metric)
    )


@contextmanager
def rules_engine(
    database_url: str, compile_rules: RuleCompiler, **overrides: object
) -> Iterator[RulesService]:
    settings = RulesSettings(
        clock="event", tick_s=0.2, refresh_s=1.0, escalation_tick_s=0.5
    ).model_copy(update=overrides)
    service = RulesService(settings, StoreSettings(url=database_url), compile_rules=compile_rules)
    service.start()
    try:
        yield service
    finally:
        service.stop()


def wait_until_consumed(database_url: str, service: RulesService, timeout_s: float) -> None:
    """Every committed batch evaluated, and a tick after it (time-based rules at the end)."""

    def caught_up() -> bool:
        engine = service.engine
        if engine is None:
            return False
        with psycopg.connect(database_url) as conn:
            latest = feed.latest_id(conn)
        return engine.stats.last_batch_id >= latest

    wait_for(caught_up, timeout_s=timeout_s, what="the rules engine to catch up")
    engine = service.engine
    assert engine is not None
    ticks = engine.stats.ticks
    wait_for(lambda: engine.stats.ticks > ticks + 1, timeout_s=30, what="ticks after the data")


def publish(
    scenario: Scenario,
    broker: EmbeddedMosquitto,
    ingest: RunningIngest,
    timeout_s: float = 240,
) -> RunSummary:
    before = int(str(ingest.scalar("SELECT count(*) FROM readings")))
    sink = MqttSink(broker.url, scenario.site.id, scenario.gateway, client_id="e2e-sim")
    summary = run(scenario, sink)
    assert summary.confirmed == summary.total_messages
    ingest.wait_for_count(
        "SELECT count(*) FROM readings", before + summary.total_readings, timeout_s
    )
    return summary


def run_through_platform(
    name: str,
    database_url: str,
    broker: EmbeddedMosquitto,
    start_ingest: Callable[..., RunningIngest],
    compile_rules: RuleCompiler,
    people: Sequence[Person] = (),
) -> tuple[Scenario, list[RaisedAlert]]:
    scenario = recent(load_scenario(name))
    with psycopg.connect(database_url) as conn:
        provision(conn, scenario, people)
    ingest = start_ingest(zigbee2mqtt_bases={scenario.z2m_base: scenario.site.id})
    with rules_engine(database_url, compile_rules) as service:
        wait_for(
            lambda: service.engine is not None and scenario.site.id in service.engine.sites,
            timeout_s=30,
            what="the engine to own the site",
        )
        publish(scenario, broker, ingest)
        wait_until_consumed(database_url, service, timeout_s=120)
    return scenario, raised_alerts(database_url)
