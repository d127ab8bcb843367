"""store.alerts.outbox: idempotent enqueue, disjoint claims, leases, capped backoff, giving up."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import TupleRow

from store.alerts import outbox, transitions

T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
Conn = psycopg.Connection[TupleRow]


@pytest.fixture
def conn(database_url: str) -> Iterator[Conn]:
    with psycopg.connect(database_url) as connection:
        connection.execute(
            """
            INSERT INTO sites (id) VALUES ('court');
            INSERT INTO people (id, name, kind) VALUES
                ('ana', 'Ana', 'volunteer'), ('bo', 'Bo', 'volunteer');
            """
        )
        connection.commit()
        yield connection


def change(conn: Conn, key: str = "leak:l1") -> transitions.AlertChange:
    _, raised = transitions.raise_or_repeat(
        conn,
        dedup_key=key,
        rule_id="leak",
        site_id="court",
        subject=key,
        household_id=None,
        category="maintenance",
        severity="critical",
        summary_key="alert.leak",
        summary_args={},
        value=None,
        metric=None,
        at=T0,
        actor="rule:leak",
    )
    return raised


def enqueue(
    conn: Conn, raised: transitions.AlertChange, receiver: str = "ana", **kw: object
) -> bool:
    return outbox.enqueue(
        conn,
        alert_change_id=raised.id,
        alert_id=raised.alert_id,
        receiver=receiver,
        channel=str(kw.get("channel", "webhook")),
        payload={"text": "leak in pump room"},
        due_at=T0,
    )


def test_enqueue_is_idempotent_per_change_receiver_and_channel(conn: Conn) -> None:
    raised = change(conn)
    assert enqueue(conn, raised) is True
    assert enqueue(conn, raised) is False
    assert enqueue(conn, raised, channel="apprise") is True
    assert enqueue(conn, raised, "bo") is True
    assert outbox.backlog(conn) == 3
    [claimed, *_] = outbox.claim_due(conn, T0, 10, 30)
    assert claimed.idempotency_key == f"{raised.id}:ana:webhook"
    assert claimed.payload == {"text": "leak in pump room"}


def test_two_senders_claim_disjoint_rows(conn: Conn, database_url: str) -> None:
    raised = change(conn)
    for n in range(6):
        enqueue(conn, raised, channel=f"c{n}")
    conn.commit()
    first = outbox.claim_due(conn, T0, 4, 30)  # still locked: this transaction is open
    with psycopg.connect(database_url) as other:
        second = outbox.claim_due(other, T0, 10, 30)
        other.commit()
    conn.commit()
    assert (len(first), len(second)) == (4, 2)
    assert {n.id for n in first}.isdisjoint(n.id for n in second)
    # Both claims committed: nothing is due until the leases run out.
    assert outbox.claim_due(conn, T0 + timedelta(seconds=29), 10, 30) == []


def test_a_claim_whose_lease_ran_out_is_claimed_again(conn: Conn) -> None:
    enqueue(conn, change(conn))
    [first] = outbox.claim_due(conn, T0, 10, lease_s=60)
    assert (first.status, first.attempts, first.next_attempt_at) == (
        "sending",
        1,
        T0 + timedelta(seconds=60),
    )
    assert outbox.claim_due(conn, T0 + timedelta(seconds=59), 10, 60) == []
    # The sender died mid-send; another one picks the row up after the lease.
    [again] = outbox.claim_due(conn, T0 + timedelta(seconds=60), 10, 60)
    assert (again.id, again.attempts) == (first.id, 2)
    assert outbox.backlog(conn) == 1
    assert outbox.mark_sent(conn, again.id, T0 + timedelta(seconds=61)) is True
    assert outbox.mark_sent(conn, first.id, T0 + timedelta(seconds=62)) is False
    assert outbox.backlog(conn) == 0
    assert outbox.mark_failed(conn, first.id, error="late", recoverable=True, now=T0) is None


@pytest.mark.parametrize(
    ("attempts", "delay_s"),
    [(1, 10.0), (2, 20.0), (3, 40.0), (7, 640.0), (8, 900.0), (9, 900.0), (10_000, 900.0)],
)
def test_backoff_doubles_and_caps(attempts: int, delay_s: float) -> None:
    assert outbox.backoff_s(attempts) == delay_s


def test_recoverable_failures_retry_with_backoff_until_max_attempts(conn: Conn) -> None:
    enqueue(conn, change(conn))
    now = T0
    delays = []
    for attempt in range(1, 4):
        [claimed] = outbox.claim_due(conn, now, 10, 30)
        assert claimed.attempts == attempt
        status = outbox.mark_failed(
            conn, claimed.id, error=f"503 #{attempt}", recoverable=True, now=now, max_attempts=3
        )
        row = outbox.get(conn, claimed.id)
        assert row is not None and row.last_error == f"503 #{attempt}"
        if attempt < 3:
            assert status == "pending"
            delays.append(row.next_attempt_at - now)
            assert outbox.claim_due(conn, row.next_attempt_at - timedelta(seconds=1), 10, 30) == []
            now = row.next_attempt_at
        else:
            assert status == "failed" and row.status == "failed"
    assert delays == [timedelta(seconds=10), timedelta(seconds=20)]
    assert outbox.backlog(conn) == 0
    assert outbox.claim_due(conn, now + timedelta(days=1), 10, 30) == []


def test_a_permanent_failure_is_final(conn: Conn) -> None:
    enqueue(conn, change(conn))
    [claimed] = outbox.claim_due(conn, T0, 10, 30)
    status = outbox.mark_failed(conn, claimed.id, error="x" * 5000, recoverable=False, now=T0)
    row = outbox.get(conn, claimed.id)
    assert status == "failed" and row is not None and len(row.last_error or "") == 1000


def test_a_row_that_outlives_every_lease_ends_failed(conn: Conn) -> None:
    enqueue(conn, change(conn))
    now = T0
    for _ in range(2):
        assert len(outbox.claim_due(conn, now, 10, 30, max_attempts=2)) == 1
        now += timedelta(seconds=30)  # the sender never came back
    assert outbox.claim_due(conn, now, 10, 30, max_attempts=2) == []
    [row] = conn.execute("SELECT status, last_error FROM notifications").fetchall()
    assert row == ("failed", "lease expired after 2 attempts; last error: none")


def test_deferred_notifications_wait(conn: Conn) -> None:
    raised = change(conn)
    outbox.enqueue(
        conn,
        alert_change_id=raised.id,
        alert_id=raised.alert_id,
        receiver="ana",
        channel="webhook",
        payload={},
        due_at=T0 + timedelta(hours=8),  # after quiet hours
    )
    assert outbox.claim_due(conn, T0, 10, 30) == []
    assert len(outbox.claim_due(conn, T0 + timedelta(hours=8), 10, 30)) == 1
    with pytest.raises(ValueError, match="lease_s"):
        outbox.claim_due(conn, T0, 10, 0)
