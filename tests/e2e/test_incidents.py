"""Every incident scenario of the simulators, through Mosquitto, ingest, the store and the rules
engine: each expected alert is raised by its deadline, once; quiet periods raise nothing."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator

import psycopg
import pytest

from courtyard.embedded import EmbeddedMosquitto
from device_sims.scenario import Scenario, shipped
from rules import ruleset
from tests.e2e.platform import RaisedAlert, in_time, matches, run_through_platform
from tests.support.ingest import RunningIngest

logger = logging.getLogger(__name__)
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

INCIDENTS = sorted(name for name in shipped() if name.startswith("incident-"))


@pytest.fixture
def with_default_rules(database_url: str) -> Iterator[None]:
    with psycopg.connect(database_url) as conn:
        ruleset.install(conn, None)
    yield


def in_quiet_period(alert: RaisedAlert, scenario: Scenario) -> bool:
    return any(
        q.start <= alert.first_seen < q.end
        and q.scope in ("site", alert.subject)
        and q.category in (None, alert.category)
        for q in scenario.quiet_periods
    )


def on_a_faulty_device(alert: RaisedAlert, scenario: Scenario) -> bool:
    """A second symptom of the incident on its own device (a pump running dry also draws an
    unusual current) is a fair alert; anything else is a false alarm."""
    seen = alert.first_seen.timestamp()
    return any(
        f.target == alert.subject and f.start <= seen <= f.until + 3600 for f in scenario.faults
    )


@pytest.mark.parametrize("name", INCIDENTS)
def test_incident_raises_its_expected_alerts_once_by_their_deadlines(
    name: str,
    with_default_rules: None,
    database_url: str,
    fresh_broker: EmbeddedMosquitto,
    start_ingest: Callable[..., RunningIngest],
) -> None:
    scenario, raised = run_through_platform(
        name, database_url, fresh_broker, start_ingest, ruleset.StoredRules()
    )
    problems: list[str] = []
    for expected in scenario.expected_alerts:
        found = [a for a in raised if matches(a, expected)]
        if len(found) != 1:
            problems.append(f"expected one {expected}, raised {found}")
            continue
        (alert,) = found
        if not in_time(alert.first_seen, expected):
            problems.append(f"{alert} outside [{expected.not_before}, {expected.deadline}]")
        if expected.severity is not None and alert.severity != expected.severity:
            problems.append(f"{alert} should be {expected.severity}")
    expected_ids = {a.id for a in raised if any(matches(a, e) for e in scenario.expected_alerts)}
    for alert in raised:
        if alert.id not in expected_ids and in_quiet_period(alert, scenario):
            problems.append(f"raised in a quiet period: {alert}")
    others = [a for a in raised if a.id not in expected_ids]
    logger.info(
        "%s: %d alerts; beyond the expected ones: %s",
        name, len(raised), Counter(f"{a.kind}:{a.subject}" for a in others),
    )  # fmt: skip
    for alert in others:
        if not on_a_faulty_device(alert, scenario):
            problems.append(f"a false alarm: {alert}")
    assert not problems, "\n".join(problems)
