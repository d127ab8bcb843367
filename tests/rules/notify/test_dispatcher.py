"""rules.notify.dispatcher: channels do not block each other; LISTEN wakes it; the edge cases."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg_pool import ConnectionPool
from pydantic import ValidationError

from rules.notify import SendResult
from rules.notify.apprise_channel import AppriseSender
from rules.notify.dispatcher import Dispatcher, senders_for
from rules.notify.settings import NotifySettings
from rules.notify.webhook import WebhookSender
from rules.rule import Category
from store.alerts.outbox import Notification
from tests.rules.notify.capture import Capture, reserve_port
from tests.rules.notify.community import T0, Conn, fire, set_channels, signal
from tests.rules.notify.receivers import (
    LOOPBACK,
    SECRET,
    SETTINGS,
    dispatcher,
    documented_receiver,
    statuses,
)
from tests.support.waiting import wait_for

WAIT_S = 30.0


def maintenance(conn: Conn, n: int, now: datetime, prefix: str = "pump") -> None:
    """`n` new maintenance alerts for the manager, committed."""
    for i in range(n):
        subject = f"{prefix}-{i}"
        fire(conn, signal(household=None, category=Category.MAINTENANCE, subject=subject), now=now)
    conn.commit()


@contextmanager
def running(d: Dispatcher) -> Iterator[threading.Event]:
    """`d.run_forever` on a thread; stopped on exit, which fails if it crashed meanwhile."""
    stop = threading.Event()
    crashed: list[BaseException] = []

    def run() -> None:
        try:
            d.run_forever(stop)
        except BaseException as exc:
            crashed.append(exc)
            raise

    thread = threading.Thread(target=run, name="test-dispatcher")
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        thread.join(WAIT_S)
    assert not thread.is_alive() and crashed == []


def count(conn: Conn, channel: str, status: str) -> Callable[[], int]:
    def probe() -> int:
        conn.commit()
        row = conn.execute(
            "SELECT count(*) FROM notifications WHERE channel = %s AND status = %s",
            (channel, status),
        ).fetchone()
        return int(row[0]) if row else 0

    return probe


def test_a_stuck_channel_does_not_hold_up_another(conn: Conn, database_url: str) -> None:
    with Capture() as hooks, Capture() as chat:
        chat.release = threading.Event()  # the chat service accepts, then never answers
        set_channels(
            conn,
            "mg",
            {"webhook": hooks.url(), "apprise": [f"json://127.0.0.1:{chat.port}/mg?rto=120"]},
        )
        maintenance(conn, 6, datetime.now(UTC))
        senders = {
            "webhook": WebhookSender(SECRET, timeout_s=5, destinations=LOOPBACK),
            "apprise": AppriseSender(timeout_s=120, destinations=LOOPBACK),
        }
        d = dispatcher(database_url, senders, apprise_timeout_s=120.0, lease_s=600.0)
        with d, running(d):
            wait_for(lambda: count(conn, "webhook", "sent")() == 6, timeout_s=WAIT_S, what="all")
            # Meanwhile the chat channel holds only its own two workers; its other rows wait
            # unclaimed, so no lease runs out on them while they queue.
            wait_for(lambda: chat.held == 2, timeout_s=WAIT_S, what="two held chat requests")
            assert sorted(statuses(conn, "apprise")) == [("pending", 0)] * 4 + [("sending", 1)] * 2
            chat.release.set()
            wait_for(lambda: count(conn, "apprise", "sent")() == 6, timeout_s=WAIT_S, what="chat")
    assert hooks.count() == 6 and chat.count() == 6


def test_a_failing_channel_does_not_stop_another(conn: Conn, database_url: str) -> None:
    down = reserve_port()
    with Capture() as chat:
        set_channels(
            conn,
            "mg",
            {
                "webhook": f"http://127.0.0.1:{down}/hook",
                "apprise": f"json://127.0.0.1:{chat.port}/mg",
            },
        )
        maintenance(conn, 3, T0)
        senders = {
            "webhook": WebhookSender(SECRET, destinations=LOOPBACK),
            "apprise": AppriseSender(timeout_s=5, destinations=LOOPBACK),
        }
        with dispatcher(database_url, senders) as d:
            assert d.run_once(T0) == 6
    assert statuses(conn, "apprise") == [("sent", 1)] * 3
    assert statuses(conn, "webhook") == [("pending", 1)] * 3


def test_a_committed_change_wakes_a_sleeping_dispatcher(conn: Conn, database_url: str) -> None:
    with (
        Capture() as hooks,
        ConnectionPool(database_url, min_size=1, max_size=4, open=True) as pool,
    ):
        set_channels(conn, "mg", {"webhook": hooks.url()})
        conn.commit()
        # Polling alone would take a minute: only the NOTIFY of the change can be this quick.
        settings = SETTINGS.model_copy(update={"poll_interval_s": 60.0})
        with (
            Dispatcher(
                pool, {"webhook": WebhookSender(SECRET, destinations=LOOPBACK)}, settings
            ) as d,
            running(d),
        ):
            wait_for(_listening(conn), timeout_s=WAIT_S, what="LISTEN")
            maintenance(conn, 1, datetime.now(UTC))
            wait_for(hooks.count, timeout_s=WAIT_S, what="the webhook")
            # A deferred row (quiet hours, a retry) wakes it when it is due, without a poll.
            maintenance(conn, 1, datetime.now(UTC) + timedelta(seconds=1), prefix="tank")
            wait_for(lambda: hooks.count() == 2, timeout_s=WAIT_S, what="the deferred webhook")


def _listening(conn: Conn) -> Callable[[], bool]:
    def probe() -> bool:
        conn.commit()
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query LIKE 'LISTEN %'"
        ).fetchone()
        return bool(row and row[0])

    return probe


class Exploding:
    """A sender with a bug: the dispatcher must survive it and retry the row."""

    def send(self, notification: Notification, target: object) -> SendResult:
        raise RuntimeError("boom")

    def close(self) -> None:
        pass


def test_a_sender_that_raises_is_retried(conn: Conn, database_url: str) -> None:
    maintenance(conn, 1, T0)
    with dispatcher(database_url, {"webhook": Exploding()}) as d:
        assert d.run_once(T0) == 1
        assert d.run_once(T0 + timedelta(seconds=9)) == 0
        assert d.run_once(T0 + timedelta(seconds=10)) == 1
    row = conn.execute(
        "SELECT status, attempts, last_error FROM notifications WHERE channel = 'webhook'"
    ).fetchone()
    assert row == ("pending", 2, "RuntimeError: boom")


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ("UPDATE people SET active = false WHERE id = 'mg'", "receiver mg was removed"),
        ("UPDATE people SET channels = '{}' WHERE id = 'mg'", "receiver mg has no webhook target"),
    ],
)
def test_a_receiver_gone_meanwhile_fails_for_good(
    conn: Conn, database_url: str, change: str, error: str
) -> None:
    maintenance(conn, 1, T0)
    conn.execute(change.encode())
    conn.commit()
    with dispatcher(database_url, {"webhook": WebhookSender(SECRET, destinations=LOOPBACK)}) as d:
        d.run_once(T0)
    row = conn.execute("SELECT status, last_error FROM notifications WHERE channel = 'webhook'")
    status, last_error = row.fetchone() or ("", "")
    assert status == "failed" and str(last_error).startswith(error)


def test_stopping_waits_for_the_sends_in_flight(conn: Conn, database_url: str) -> None:
    with Capture() as hooks:
        hooks.release = threading.Event()
        set_channels(conn, "mg", {"webhook": hooks.url()})
        maintenance(conn, 1, datetime.now(UTC))
        d = dispatcher(database_url, {"webhook": WebhookSender(SECRET, destinations=LOOPBACK)})
        stop = threading.Event()
        thread = threading.Thread(target=d.run_forever, args=(stop,))
        with d:
            thread.start()
            wait_for(lambda: hooks.held == 1, timeout_s=WAIT_S, what="the send")
            stop.set()
            hooks.release.set()
            thread.join(WAIT_S)
    assert statuses(conn) == [("sent", 1)]  # recorded before run_forever returned


def test_the_configured_senders_deliver_both_channels(conn: Conn, database_url: str) -> None:
    with documented_receiver() as receiver, Capture() as chat:
        set_channels(
            conn, "mg", {"webhook": receiver.url, "apprise": f"json://127.0.0.1:{chat.port}/"}
        )
        maintenance(conn, 1, T0)
        with Dispatcher(database_url, senders_for(SETTINGS), SETTINGS) as d:
            assert d.run_once(T0) == 2
        assert len(receiver.received) == 1 and chat.count() == 1  # signed with the settings' secret
    assert statuses(conn) == [("sent", 1)] * 2


def test_a_dispatcher_needs_a_sender(database_url: str) -> None:
    with pytest.raises(ValueError, match="at least one sender"):
        Dispatcher(database_url, {}, SETTINGS)


def test_the_lease_must_outlast_a_send() -> None:
    with pytest.raises(ValidationError, match="lease_s"):
        NotifySettings(webhook_timeout_s=50.0, lease_s=120.0)
    assert NotifySettings().lease_s > 3 * NotifySettings().apprise_timeout_s


def test_lost_database_sessions_are_replaced(conn: Conn, database_url: str) -> None:
    with Capture() as hooks:
        set_channels(conn, "mg", {"webhook": hooks.url()})
        conn.commit()
        d = dispatcher(database_url, {"webhook": WebhookSender(SECRET, destinations=LOOPBACK)})
        with d, running(d):
            wait_for(_listening(conn), timeout_s=WAIT_S, what="LISTEN")
            with psycopg.connect(database_url, autocommit=True) as admin:
                # End the dispatcher's sessions: its pool and its listener reconnect.
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    " AND pid <> %s",
                    (conn.info.backend_pid,),
                )
            wait_for(_listening_url(database_url), timeout_s=WAIT_S, what="LISTEN again")
            with psycopg.connect(database_url) as fresh:
                maintenance(fresh, 1, datetime.now(UTC))
            wait_for(hooks.count, timeout_s=WAIT_S, what="the webhook")


def _listening_url(database_url: str) -> Callable[[], bool]:
    def probe() -> bool:
        with psycopg.connect(database_url) as conn:
            return _listening(conn)()

    return probe
