"""rules.notify.apprise_channel: real Apprise URLs (json://) pointing at a local HTTP receiver."""

from __future__ import annotations

import json

import apprise
import pytest

from rules.notify.apprise_channel import AppriseSender
from rules.rule import Severity, SignalState
from tests.rules.notify.capture import Capture, reserve_port
from tests.rules.notify.community import T0, Conn, fire, set_channels, signal
from tests.rules.notify.receivers import (
    LOOPBACK,
    dispatcher,
    doc_urls,
    drain,
    notification,
    statuses,
)


def test_title_and_body_reach_every_url_of_the_person(conn: Conn, database_url: str) -> None:
    with Capture() as first, Capture() as second:
        urls = [f"json://127.0.0.1:{first.port}/bo", f"json://127.0.0.1:{second.port}/bo2"]
        set_channels(conn, "bo", {"apprise": urls})
        [raised], _ = fire(conn, signal(household="h3"))  # bo is h3's first volunteer
        conn.commit()
        with dispatcher(
            database_url, {"apprise": AppriseSender(timeout_s=5, destinations=LOOPBACK)}
        ) as d:
            assert d.run_once(T0) == 1
        messages = [json.loads(r.body) for r in first.requests + second.requests]
    assert statuses(conn) == [("sent", 1)]
    assert [r.path for r in first.requests + second.requests] == ["/bo", "/bo2"]
    for message in messages:  # bo reads Chinese; the test rule's own title has no translation
        assert message["title"] == "新告警（警告）：No activity in Unit 7-303 for 5.5 hours"
        assert message["message"].startswith("No activity in Unit 7-303 for 5.5 hours\n")
        assert "Unit 7-303" in message["message"]
        assert message["type"] == "warning"


@pytest.mark.parametrize(
    ("severity", "state", "kind"),
    [
        (Severity.CRITICAL, SignalState.FIRING, "failure"),
        (Severity.INFO, SignalState.FIRING, "info"),
        (Severity.WARNING, SignalState.CLEAR, "success"),  # cleared
    ],
)
def test_the_message_kind_follows_severity_and_resolution(
    conn: Conn, database_url: str, severity: Severity, state: SignalState, kind: str
) -> None:
    with Capture() as capture:
        set_channels(conn, "di", {"apprise": f"json://127.0.0.1:{capture.port}/di"})
        fire(conn, signal(household="h2", severity=severity))
        if state is SignalState.CLEAR:
            fire(conn, signal(household="h2", state=state))
        conn.commit()
        with dispatcher(
            database_url, {"apprise": AppriseSender(timeout_s=5, destinations=LOOPBACK)}
        ) as d:
            d.run_once(T0)
        # The raise and the resolve are sent concurrently: their order of arrival varies.
        kinds = [json.loads(r.body)["type"] for r in capture.requests]
        assert kind in kinds and len(kinds) == (2 if state is SignalState.CLEAR else 1)


def test_an_unusable_url_fails_for_good_without_showing_its_secret(
    conn: Conn, database_url: str
) -> None:
    set_channels(conn, "bo", {"apprise": ["json://127.0.0.1:9/x", "nope://secret-token@x"]})
    fire(conn, signal(household="h3"))
    conn.commit()
    with dispatcher(
        database_url, {"apprise": AppriseSender(timeout_s=5, destinations=LOOPBACK)}
    ) as d:
        d.run_once(T0)
    assert statuses(conn) == [("failed", 1)]
    [error] = conn.execute("SELECT last_error FROM notifications").fetchone() or [None]
    assert error == "Apprise cannot use URL #2 (nope://...)"


@pytest.mark.parametrize("target", [[], [""], 7, {"url": "json://x"}])
def test_a_target_that_is_no_list_of_urls_fails_for_good(target: object) -> None:
    result = AppriseSender(destinations=LOOPBACK).send(notification(), target)
    assert (result.ok, result.recoverable) == (False, False)


def test_a_chat_service_that_is_down_gets_the_message_once_back(
    conn: Conn, database_url: str
) -> None:
    port = reserve_port()
    set_channels(conn, "bo", {"apprise": f"json://127.0.0.1:{port}/bo"})
    fire(conn, signal(household="h3"))
    conn.commit()
    with dispatcher(
        database_url, {"apprise": AppriseSender(timeout_s=5, destinations=LOOPBACK)}
    ) as d:
        now, attempted = drain(conn, d, T0, rounds=1)  # refused
        assert statuses(conn) == [("pending", 1)]
        with Capture(port) as capture:
            capture.status = 500
            now, attempted = drain(conn, d, now, rounds=1)
            assert statuses(conn) == [("pending", 2)]
            capture.status = 200
            drain(conn, d, now, rounds=3)
            assert capture.count() == 2
    assert statuses(conn) == [("sent", 3)]
    [error] = conn.execute("SELECT last_error FROM notifications").fetchone() or [None]
    assert "JSON" in str(error)  # what Apprise said about the 500


@pytest.mark.parametrize("url", doc_urls("## Apprise: chat and mail"))
def test_every_apprise_url_in_the_docs_is_one_apprise_accepts(url: str) -> None:
    AppriseSender(destinations=LOOPBACK)  # loads the plugins
    assert apprise.Apprise.instantiate(url) is not None


def test_the_docs_show_the_services_we_promise() -> None:
    schemes = {url.split("://")[0] for url in doc_urls("## Apprise: chat and mail")}
    assert {"dingtalk", "wecombot", "tgram", "mailtos", "json"} <= schemes
