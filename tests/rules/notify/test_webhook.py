"""rules.notify.webhook through the dispatcher, against real HTTP receivers on loopback."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest

from rules.notify import SendResult
from rules.notify.webhook import WebhookSender, classify, encode, sign
from rules.rule import Category
from store.alerts import outbox
from tests.rules.notify.capture import Capture, Request, reserve_port
from tests.rules.notify.community import T0, Conn, fire, set_channels, signal
from tests.rules.notify.receivers import (
    LOOPBACK,
    SECRET,
    SETTINGS,
    dispatcher,
    documented_receiver,
    drain,
    notification,
    statuses,
)


def test_the_documented_receiver_accepts_what_courtyard_signs(
    conn: Conn, database_url: str
) -> None:
    with documented_receiver() as receiver:
        set_channels(conn, "ana", {"webhook": receiver.url})
        [raised], _ = fire(conn, signal(household="h1"))
        conn.commit()
        with dispatcher(
            database_url, {"webhook": WebhookSender(SECRET, destinations=LOOPBACK)}
        ) as d:
            assert d.run_once(T0) == 1
        [body] = receiver.received
    assert statuses(conn) == [("sent", 1)]
    assert (body["alert_id"], body["change"]) == (raised.alert.id, "raised")
    assert body["receiver"] == "ana"
    assert receiver.hits == [f"{raised.change.id}:ana:webhook"]


@pytest.mark.parametrize(
    ("sender_secret", "clock_offset_s"),
    [
        ("not-the-receivers-secret", 0),  # wrong secret
        (SECRET, -301),  # signed more than 5 minutes ago: a replay
        (SECRET, 301),  # from the future
    ],
)
def test_the_documented_receiver_refuses_and_the_refusal_is_final(
    conn: Conn, database_url: str, sender_secret: str, clock_offset_s: float
) -> None:
    with documented_receiver() as receiver:
        set_channels(conn, "ana", {"webhook": receiver.url})
        fire(conn, signal(household="h1"))
        conn.commit()
        sender = WebhookSender(
            sender_secret, clock=lambda: time.time() + clock_offset_s, destinations=LOOPBACK
        )
        with dispatcher(database_url, {"webhook": sender}) as d:
            d.run_once(T0)
            assert d.run_once(T0 + timedelta(hours=1)) == 0  # a 401 is not retried
        assert receiver.received == [] and len(receiver.hits) == 1
    [(status, attempts)] = statuses(conn)
    assert (status, attempts) == ("failed", 1)
    [error] = conn.execute("SELECT last_error FROM notifications").fetchone() or [None]
    assert str(error).startswith("HTTP 401")


def test_a_receiver_may_have_its_own_secret(conn: Conn, database_url: str) -> None:
    with documented_receiver("ana's own") as receiver:
        set_channels(conn, "ana", {"webhook": {"url": receiver.url, "secret": "ana's own"}})
        fire(conn, signal(household="h1"))
        conn.commit()
        with dispatcher(
            database_url, {"webhook": WebhookSender(SECRET, destinations=LOOPBACK)}
        ) as d:
            d.run_once(T0)
        assert len(receiver.received) == 1
    assert statuses(conn) == [("sent", 1)]


def test_the_signature_covers_timestamp_and_body() -> None:
    body = encode({"b": 1, "a": "é"})
    assert body == '{"a":"é","b":1}'.encode()
    expected = hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign("k", "1700000000", body) == "sha256=" + expected
    assert sign("k", "1700000001", body) != sign("k", "1700000000", body)


def test_a_redelivery_carries_the_same_key_and_is_dropped_by_the_receiver(
    conn: Conn, database_url: str
) -> None:
    with documented_receiver() as receiver:
        set_channels(conn, "ana", {"webhook": receiver.url})
        fire(conn, signal(household="h1"))
        conn.commit()
        # A dispatcher claims and sends, then dies before it records the delivery.
        [claimed] = outbox.claim_due(conn, T0, 10, SETTINGS.lease_s)
        conn.commit()
        assert (
            WebhookSender(SECRET, destinations=LOOPBACK).send(claimed, receiver.url)
            == SendResult.sent()
        )
        with dispatcher(
            database_url, {"webhook": WebhookSender(SECRET, destinations=LOOPBACK)}
        ) as d:
            assert d.run_once(T0 + timedelta(seconds=SETTINGS.lease_s - 1)) == 0  # leased
            assert d.run_once(T0 + timedelta(seconds=SETTINGS.lease_s)) == 1
        assert receiver.hits == [claimed.idempotency_key] * 2
        assert len(receiver.received) == 1
    assert statuses(conn) == [("sent", 2)]


def test_a_receiver_that_is_down_for_a_while_gets_everything_once_back(
    conn: Conn, database_url: str
) -> None:
    port = reserve_port()  # nothing listens: connections are refused
    url = f"http://127.0.0.1:{port}/hook"
    for person in ("ana", "di", "mg"):
        set_channels(conn, person, {"webhook": url, "apprise": ["json://127.0.0.1:9/x"]})
    fire(conn, signal(household="h1"))
    fire(conn, signal(household="h2"))
    fire(conn, signal(household=None, category=Category.MAINTENANCE, subject="pump"))
    conn.commit()
    verify = _verifier(SECRET)
    with dispatcher(database_url, {"webhook": WebhookSender(SECRET, destinations=LOOPBACK)}) as d:
        now, attempted = drain(conn, d, T0, rounds=2)
        assert attempted == [3, 3]
        assert statuses(conn, "webhook") == [("pending", 2)] * 3
        with Capture(port) as capture:
            capture.status = 503  # back, but not ready yet
            now, attempted = drain(conn, d, now, rounds=1)
            assert attempted == [3] and capture.count() == 3
            capture.respond = lambda request: 204 if verify(request) else 401
            now, attempted = drain(conn, d, now, rounds=5)
            assert attempted == [3]  # then nothing is left to do
            keys = [r.headers["Idempotency-Key"] for r in capture.requests]
    assert statuses(conn, "webhook") == [("sent", 4)] * 3
    # Every notification arrived, each with its own key, retried under the same one.
    assert len(set(keys)) == 3 and sorted(keys[3:]) == sorted(keys[:3])
    # The Apprise rows are another dispatcher's business: untouched.
    assert statuses(conn, "apprise") == [("pending", 0)] * 3
    assert now - T0 == timedelta(seconds=10 + 20 + 40)


@pytest.mark.parametrize(
    ("status", "ok", "recoverable"),
    [
        (200, True, False),
        (204, True, False),
        (301, False, True),
        (400, False, False),
        (401, False, False),
        (404, False, False),
        (410, False, False),
        (408, False, True),
        (429, False, True),
        (500, False, True),
        (503, False, True),
    ],
)
def test_classify(status: int, ok: bool, recoverable: bool) -> None:
    result = classify(status, "body")
    assert (result.ok, result.recoverable) == (ok, recoverable)
    assert ok or result.error == f"HTTP {status}: body"


@pytest.mark.parametrize(
    ("target", "secret", "error"),
    [
        (42, SECRET, "webhook target must be"),
        ({"secret": "x"}, SECRET, "webhook target must be"),
        ("http://127.0.0.1:9/x", "", "no signing secret"),
        ("ftp://127.0.0.1/x", SECRET, "bad webhook URL"),
        ("http://", SECRET, "bad webhook URL"),
    ],
)
def test_a_target_that_cannot_work_fails_for_good(target: object, secret: str, error: str) -> None:
    result = WebhookSender(secret, destinations=LOOPBACK).send(notification(), target)
    assert (result.ok, result.recoverable) == (False, False)
    assert (result.error or "").startswith(error)


def test_a_slow_receiver_times_out_and_is_retried() -> None:
    with Capture() as capture:
        capture.release = threading.Event()
        result = WebhookSender(SECRET, timeout_s=0.2, destinations=LOOPBACK).send(
            notification(), capture.url()
        )
        capture.release.set()
    assert (result.ok, result.recoverable) == (False, True)
    assert (result.error or "").startswith("timed out")


def _verifier(secret: str) -> Callable[[Request], bool]:
    def verify(request: Request) -> bool:
        timestamp = request.headers["X-Courtyard-Timestamp"]
        mac = hmac.new(secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256)
        signature = request.headers["X-Courtyard-Signature"]
        return hmac.compare_digest("sha256=" + mac.hexdigest(), signature)

    return verify
