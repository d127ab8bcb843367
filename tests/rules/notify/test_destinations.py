"""Webhooks and Apprise URLs aimed inside the network (SSRF) are refused when sent, against real
receivers on loopback: by address or by a name that resolves there, unless the operator allows
the host or its range. A refusal fails the row for good, with its reason recorded."""

from __future__ import annotations

import ipaddress

import pytest

from rules.notify import SendResult
from rules.notify.apprise_channel import AppriseSender
from rules.notify.settings import NotifySettings
from rules.notify.webhook import WebhookSender
from store.alerts.destinations import DestinationPolicy
from tests.rules.notify.capture import Capture
from tests.rules.notify.community import T0, Conn, fire, set_channels, signal
from tests.rules.notify.receivers import SECRET, dispatcher, drain, notification, statuses

ALLOWED = {
    "by range": "127.0.0.0/8",
    "by address": "127.0.0.1",
    "by name": "localhost",
}


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]"])
def test_a_webhook_to_loopback_is_refused_and_never_retried(
    conn: Conn, database_url: str, host: str
) -> None:
    with Capture() as capture:
        set_channels(conn, "ana", {"webhook": f"http://{host}:{capture.port}/hook"})
        fire(conn, signal(household="h1"))
        conn.commit()
        with dispatcher(database_url, {"webhook": WebhookSender(SECRET)}) as d:
            _, attempted = drain(conn, d, T0, rounds=3)
        assert capture.requests == []
    assert attempted == [1]
    assert statuses(conn) == [("failed", 1)]
    [error] = conn.execute("SELECT last_error FROM notifications").fetchone() or [None]
    assert "loopback" in str(error) and "COURTYARD_NOTIFY__ALLOWED_DESTINATIONS" in str(error)


@pytest.mark.parametrize("allowed", ALLOWED.values(), ids=ALLOWED.keys())
def test_a_webhook_to_an_allowed_host_is_delivered_with_its_own_host_header(
    allowed: str,
) -> None:
    with Capture() as capture:
        sender = WebhookSender(SECRET, destinations=DestinationPolicy.parse(allowed))
        result = sender.send(notification(), f"http://localhost:{capture.port}/hook")
        [request] = capture.requests
    assert result == SendResult.sent()
    assert request.headers["Host"] == f"localhost:{capture.port}"


def test_an_allowed_range_does_not_open_others() -> None:
    with Capture() as capture:
        sender = WebhookSender(SECRET, destinations=DestinationPolicy.parse("10.0.0.0/8"))
        result = sender.send(notification(), capture.url())
        assert capture.requests == []
    assert (result.ok, result.recoverable) == (False, False)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_an_apprise_url_to_loopback_is_refused_and_never_retried(
    conn: Conn, database_url: str, host: str
) -> None:
    with Capture() as capture:
        set_channels(conn, "bo", {"apprise": [f"json://{host}:{capture.port}/bo"]})
        fire(conn, signal(household="h3"))
        conn.commit()
        with dispatcher(database_url, {"apprise": AppriseSender(timeout_s=5)}) as d:
            _, attempted = drain(conn, d, T0, rounds=3)
        assert capture.requests == []
    assert attempted == [1]
    assert statuses(conn) == [("failed", 1)]
    [error] = conn.execute("SELECT last_error FROM notifications").fetchone() or [None]
    assert str(error).startswith("Apprise URL #1: ") and "loopback" in str(error)


def test_an_apprise_url_to_an_allowed_host_is_delivered() -> None:
    with Capture() as capture:
        sender = AppriseSender(timeout_s=5, destinations=DestinationPolicy.parse("localhost"))
        result = sender.send(notification(), f"json://localhost:{capture.port}/bo")
        assert len(capture.requests) == 1
    assert result == SendResult.sent()


def test_a_mail_relay_inside_the_network_is_refused() -> None:
    # No connection is tried: the SMTP relay's address is checked before Apprise runs.
    url = "mailto://user:pass@example.com?smtp=127.0.0.1&to=ops@example.com"
    result = AppriseSender(timeout_s=5).send(notification(), url)
    assert (result.ok, result.recoverable) == (False, False)
    assert result.error is not None and "127.0.0.1" in result.error


def test_the_setting_names_each_entry_it_cannot_read() -> None:
    policy = NotifySettings(allowed_destinations="hooks.internal, 10.20.0.0/16").destinations
    assert policy.hosts == {"hooks.internal"}
    assert policy.networks == (ipaddress.ip_network("10.20.0.0/16"),)
    with pytest.raises(ValueError, match="http://x/y"):
        NotifySettings(allowed_destinations="http://x/y")
