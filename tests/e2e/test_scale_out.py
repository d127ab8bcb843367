"""Scale-out on one machine: two ingest workers on one shared subscription, two rules engines
splitting the sites, two API processes, all real `courtyard` processes against one database and
one broker. A simulated week of small-community raises each alert it expects exactly once, as
one of the APIs reports it.

(Mosquitto 2.0.11 does not restore shared subscriptions after a broker restart; nothing
restarts here.)"""

from __future__ import annotations

import json
import re
import signal
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from api import cli as api_cli
from courtyard.embedded import EmbeddedMosquitto
from courtyard.ports import free_port
from courtyard.provision import Person, provision
from courtyard.status import collect
from device_sims.publisher import MqttSink
from device_sims.runner import run
from device_sims.scenario import ExpectedAlert, load_scenario
from rules import ruleset
from store.access.users import NewUser
from store.settings import StoreSettings
from tests.courtyard.up_support import Api
from tests.e2e.platform import in_time, recent
from tests.support.processes import CourtyardProcess, courtyard_env
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

SHARE_GROUP = "courtyard-ingest"
_RECEIVED = re.compile(r"ingest stopped: (\d+) messages received")


@contextmanager
def started(processes: list[CourtyardProcess]) -> Iterator[list[CourtyardProcess]]:
    with ExitStack() as stack:
        for process in processes:
            process.start()
            stack.callback(_stop, process)
        yield processes


def _stop(process: CourtyardProcess) -> None:
    if process.running:
        # uvicorn (`courtyard api`) re-raises SIGTERM once it has shut down gracefully.
        assert process.terminate(60) in (0, -signal.SIGTERM), process.log()


def scalar(database_url: str, sql: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(sql.encode()).fetchone()
    assert row is not None
    return int(row[0])


def matches(alert: dict[str, Any], kinds: dict[str, str], expected: ExpectedAlert) -> bool:
    """tests/e2e/platform.py's `matches`, on the API's alerts: the rule's kind, the subject,
    the category and (when the scenario names one) the metric."""
    return (
        kinds.get(alert["rule_id"]) == expected.rule
        and alert["subject"] == expected.subject
        and alert["category"] == expected.category
        and (expected.metric is None or alert["metric"] == expected.metric)
    )


def test_two_of_each_service_raise_each_expected_alert_once(
    database_url: str, fresh_broker: EmbeddedMosquitto, tmp_path: Path
) -> None:
    scenario = recent(load_scenario("small-community"))
    site = scenario.site.id
    store = StoreSettings(url=database_url)
    with psycopg.connect(database_url) as conn:
        ruleset.install(conn, None)
        staff = Person("staff-1", "Staff", "manager", [("manager", None), ("staff", None)])
        provision(conn, scenario, [staff])
    api_cli.add_user(store, NewUser(user_id="ops", name="Ops", role="admin"))
    token, _info = api_cli.create_token(store, user_id="ops", name="scale-out", days=1)

    common = {
        "database_url": database_url,
        "mqtt_url": fresh_broker.url,
        "ingest__share_group": SHARE_GROUP,
        "ingest__zigbee2mqtt_bases": json.dumps({scenario.z2m_base: site}),
        # The week is replayed in a minute or two: the engines judge it on its own time.
        "rules__clock": "event",
        "rules__refresh_s": "1",
        "rules__dispatch": "false",
    }
    ports = [free_port(), free_port()]
    processes = [
        *(
            CourtyardProcess(
                ["ingest"],
                courtyard_env(**common, ingest__client_id=f"ingest-{i}"),
                tmp_path,
                f"ingest-{i}",
            )
            for i in (1, 2)
        ),
        *(
            CourtyardProcess(["rules"], courtyard_env(**common), tmp_path, f"rules-{i}")
            for i in (1, 2)
        ),
        *(
            CourtyardProcess(
                ["api"], courtyard_env(**common, http_port=str(port)), tmp_path, f"api-{port}"
            )
            for port in ports
        ),
    ]
    with started(processes):
        ingests, engines = processes[:2], processes[2:4]

        def subscribed() -> bool:
            return all(f"$share/{SHARE_GROUP}/" in p.log() for p in ingests)

        wait_for(subscribed, timeout_s=60, what="both ingest workers to subscribe")

        def services() -> tuple[int, int, list[list[str]]]:
            """Ingest workers, API processes and each engine's sites, as `courtyard status`
            sees them (an ingest worker opens its session with its first batch)."""
            with psycopg.connect(database_url) as conn:
                found = collect(conn, "", "courtyard", None)
            return len(found.ingest), len(found.api), sorted(e.sites for e in found.rules)

        wait_for(
            lambda: services()[1:] == (2, [[], [site]]),
            timeout_s=60,
            what=f"2 APIs and 2 engines of which one owns the site (now {services()})",
        )

        def healthy(port: int) -> bool:
            return httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200

        for port in ports:
            wait_for(partial(healthy, port), timeout_s=60, what=f"the API on {port}")

        sink = MqttSink(fresh_broker.url, site, scenario.gateway, client_id="scale-out-sim")
        summary = run(scenario, sink)
        assert summary.confirmed == summary.total_messages
        wait_for(
            lambda: scalar(database_url, "SELECT count(*) FROM readings") == summary.total_readings,
            timeout_s=300,
            interval_s=1,
            what=f"{summary.total_readings} readings stored",
        )
        for worker in ingests:
            assert worker.running, worker.log()
        assert services()[0] == 2
        wait_for(
            lambda: (
                scalar(
                    database_url,
                    "SELECT count(*) FROM batch_feed WHERE id > "
                    "(SELECT coalesce(min(batch_id), 0) FROM feed_cursors)",
                )
                == 0
            ),
            timeout_s=300,
            interval_s=1,
            what="the rules engines to evaluate every committed batch",
        )

        api = Api(f"http://127.0.0.1:{ports[1]}/", token)
        kinds = {r["id"]: r["kind"] for r in api.get("/api/v1/rules")}

        def found() -> dict[ExpectedAlert, list[dict[str, Any]]]:
            alerts = api.alerts()
            return {
                e: [a for a in alerts if matches(a, kinds, e)] for e in scenario.expected_alerts
            }

        def missing() -> list[ExpectedAlert]:
            return [e for e, alerts in found().items() if not alerts]

        try:
            wait_for(lambda: not missing(), timeout_s=120, interval_s=1, what="every alert")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; missing: {missing()}") from None
        raised = found()
        for engine in engines:
            assert engine.running, engine.log()

    problems = [f"{e}: {len(a)} alerts {a}" for e, a in raised.items() if len(a) != 1]
    assert problems == []
    for expected, (alert,) in raised.items():
        first_seen = datetime.fromisoformat(alert["first_seen"])
        assert in_time(first_seen, expected), (expected, alert)
    # Every raise and auto-resolve recorded once, whichever worker stored what.
    with psycopg.connect(database_url) as conn:
        duplicates = conn.execute(
            "SELECT count(*) FROM (SELECT alert_id, change FROM alert_changes "
            "WHERE change IN ('raised', 'auto_resolved') GROUP BY 1, 2 HAVING count(*) > 1) d"
        ).fetchone()
    assert duplicates == (0,)
    # Both workers took their share of the subscription.
    received = [int(n) for p in ingests for n in _RECEIVED.findall(p.log())]
    assert len(received) == 2 and all(received), received
