"""rules.lifecycle: the decision table, and signals applied to a real database."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import TupleRow

from rules import lifecycle
from rules.lifecycle import Action, Outcome
from rules.rule import Category, Severity, Signal, SignalState
from store.alerts import transitions
from store.alerts.records import ChangeKind, Status
from tests.support.waiting import wait_for

T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
Conn = psycopg.Connection[TupleRow]
FIRING, CLEAR = SignalState.FIRING, SignalState.CLEAR


def signal(
    state: SignalState = FIRING,
    *,
    at: datetime = T0,
    rule: str = "level-low",
    metric: str | None = "level_pct",
    severity: Severity = Severity.WARNING,
    category: Category = Category.MAINTENANCE,
    value: float | None = 12.0,
) -> Signal:
    return Signal(
        rule=rule,
        subject="tank-1",
        site="court",
        category=category,
        severity=severity,
        state=state,
        at=at,
        value=value,
        metric=metric,
        summary_key="Level of {device} at {value} %",
        summary_args={"device": "tank-1", "value": value or 0.0},
    )


@pytest.mark.parametrize(
    ("state", "auto_resolve", "action"),
    [
        (FIRING, True, Action.RAISE_OR_REPEAT),
        (FIRING, False, Action.RAISE_OR_REPEAT),
        (CLEAR, True, Action.AUTO_RESOLVE),
        (CLEAR, False, Action.KEEP_OPEN),
    ],
)
def test_decide(state: SignalState, auto_resolve: bool, action: Action) -> None:
    assert lifecycle.decide(state, auto_resolve) is action


def _only_smoke(s: Signal) -> bool:
    return s.metric == "smoke"


@pytest.mark.parametrize(
    ("metric", "allowed", "expected"),
    [
        ("level_pct", True, True),
        ("level_pct", False, False),
        ("smoke", True, True),
        ("smoke", _only_smoke, True),
        ("water_leak", _only_smoke, False),
        (None, True, True),
        # a person has to look, whatever the caller allows
        ("sos", True, False),
        ("fall", True, False),
        ("sos", lambda s: True, False),
    ],
)
def test_may_auto_resolve(
    metric: str | None, allowed: Callable[[Signal], bool] | bool, expected: bool
) -> None:
    assert lifecycle.may_auto_resolve(signal(CLEAR, metric=metric), allowed) is expected


@pytest.fixture
def conn(database_url: str) -> Iterator[Conn]:
    with psycopg.connect(database_url) as connection:
        connection.execute(
            """
            INSERT INTO sites (id) VALUES ('court');
            INSERT INTO households (site_id, id, label) VALUES ('court', 'h1', 'Unit 3-201');
            """
        )
        connection.commit()
        yield connection


def kinds(outcomes: list[Outcome]) -> list[ChangeKind]:
    return [o.kind for o in outcomes]


def test_firing_twice_is_one_alert_seen_twice(conn: Conn) -> None:
    first = lifecycle.apply(conn, [signal()])
    second = lifecycle.apply(conn, [signal(at=T0 + timedelta(minutes=1), value=10.0)])
    assert kinds(first) == [ChangeKind.RAISED]
    assert kinds(second) == [ChangeKind.REPEATED]
    alert = transitions.get(conn, first[0].alert.id)
    assert (alert.occurrences, alert.value, alert.last_seen) == (2, 10.0, T0 + timedelta(minutes=1))
    assert alert.dedup_key == "level-low:court/tank-1:level_pct"
    assert second[0].alert.id == alert.id
    assert [c.actor for c in transitions.history(conn, alert.id)] == ["rule:level-low"] * 2


def test_firing_then_clear_auto_resolves(conn: Conn) -> None:
    later = T0 + timedelta(minutes=5)
    outcomes = lifecycle.apply(conn, [signal(), signal(CLEAR, at=later)])
    assert kinds(outcomes) == [ChangeKind.RAISED, ChangeKind.AUTO_RESOLVED]
    alert = transitions.get(conn, outcomes[0].alert.id)
    assert (alert.status, alert.resolved_at, alert.resolved_by) == (
        Status.RESOLVED,
        later,
        "rule:level-low",
    )
    resolved = transitions.history(conn, alert.id)[-1]
    assert (resolved.change, resolved.actor, resolved.at) == (
        ChangeKind.AUTO_RESOLVED,
        "rule:level-low",
        later,
    )
    assert outcomes[1].change == resolved


def test_clear_without_open_alert_changes_nothing(conn: Conn) -> None:
    assert lifecycle.apply(conn, [signal(CLEAR)]) == []
    assert conn.execute("SELECT count(*) FROM alerts").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM alert_changes").fetchone() == (0,)


def test_clear_twice_resolves_once(conn: Conn) -> None:
    outcomes = lifecycle.apply(
        conn,
        [
            signal(),
            signal(CLEAR, at=T0 + timedelta(minutes=1)),
            signal(CLEAR, at=T0 + timedelta(minutes=2)),
        ],
    )
    assert kinds(outcomes) == [ChangeKind.RAISED, ChangeKind.AUTO_RESOLVED]


def test_firing_after_resolve_opens_a_new_alert(conn: Conn) -> None:
    first = lifecycle.apply(conn, [signal(), signal(CLEAR, at=T0 + timedelta(minutes=1))])
    again = lifecycle.apply(conn, [signal(at=T0 + timedelta(minutes=2))])
    assert kinds(again) == [ChangeKind.RAISED]
    assert again[0].alert.id != first[0].alert.id
    assert again[0].alert.occurrences == 1
    assert transitions.get(conn, first[0].alert.id).status == Status.RESOLVED
    rows = conn.execute("SELECT status FROM alerts ORDER BY id").fetchall()
    assert rows == [("resolved",), ("open",)]


def test_severity_escalates_on_repeat_and_never_drops(conn: Conn) -> None:
    minute = timedelta(minutes=1)
    outcomes = lifecycle.apply(
        conn,
        [
            signal(severity=Severity.WARNING),
            signal(at=T0 + minute, severity=Severity.CRITICAL),
            signal(at=T0 + 2 * minute, severity=Severity.WARNING),
        ],
    )
    assert [o.alert.severity for o in outcomes] == ["warning", "critical", "critical"]
    assert len({o.alert.id for o in outcomes}) == 1


def test_signals_apply_in_event_time_order(conn: Conn) -> None:
    # a batch can list a clear before the firing it ends; event time decides
    late_clear = signal(CLEAR, at=T0 + timedelta(minutes=3))
    outcomes = lifecycle.apply(conn, [late_clear, signal()])
    assert kinds(outcomes) == [ChangeKind.RAISED, ChangeKind.AUTO_RESOLVED]


def test_equal_times_keep_the_given_order(conn: Conn) -> None:
    outcomes = lifecycle.apply(conn, [signal(), signal(CLEAR)])
    assert kinds(outcomes) == [ChangeKind.RAISED, ChangeKind.AUTO_RESOLVED]


@pytest.mark.parametrize("kind", ["sos", "fall"])
def test_sos_and_fall_never_auto_resolve(conn: Conn, kind: str) -> None:
    raised = signal(rule="emergencies", metric=kind, severity=Severity.CRITICAL)
    raised = dataclasses.replace(raised, category=Category.CARE)
    cleared = dataclasses.replace(raised, state=CLEAR, at=T0 + timedelta(minutes=1))
    outcomes = lifecycle.apply(conn, [raised, cleared], auto_resolve=True)
    assert kinds(outcomes) == [ChangeKind.RAISED]
    assert transitions.get(conn, outcomes[0].alert.id).status == Status.OPEN


def test_clear_is_ignored_where_the_caller_forbids_auto_resolve(conn: Conn) -> None:
    outcomes = lifecycle.apply(
        conn, [signal(), signal(CLEAR, at=T0 + timedelta(minutes=1))], auto_resolve=False
    )
    assert kinds(outcomes) == [ChangeKind.RAISED]
    assert transitions.get(conn, outcomes[0].alert.id).status == Status.OPEN


def test_household_of_links_the_alert(conn: Conn) -> None:
    outcomes = lifecycle.apply(conn, [signal()], household_of=lambda s: "h1")
    assert outcomes[0].alert.household_id == "h1"


def test_apply_leaves_the_transaction_to_the_caller(conn: Conn) -> None:
    lifecycle.apply(conn, [signal()])
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM alerts").fetchone() == (0,)


def test_concurrent_apply_of_one_signal_leaves_one_alert(conn: Conn, database_url: str) -> None:
    # Engine A raises and holds its transaction open; engine B's raise of the same key must wait
    # on the unique index of open alerts, then count as a repeat once A commits.
    results: list[list[Outcome]] = []
    errors: list[BaseException] = []
    with (
        psycopg.connect(database_url) as a,
        psycopg.connect(database_url) as b,
        # autocommit: within a transaction pg_stat_activity is a snapshot that never changes
        psycopg.connect(database_url, autocommit=True) as watch,
    ):
        b_pid = b.info.backend_pid
        first = lifecycle.apply(a, [signal()])

        def engine_b() -> None:
            try:
                results.append(lifecycle.apply(b, [signal()]))
                b.commit()
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=engine_b)
        thread.start()
        try:
            wait_for(
                lambda: (
                    watch.execute(
                        "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s",
                        (b_pid,),
                    ).fetchone()
                    == (True,)
                ),
                timeout_s=10,
                what="engine B to wait on engine A's uncommitted alert",
            )
        finally:
            a.commit()
            thread.join(30)
    assert errors == []
    assert kinds(first) == [ChangeKind.RAISED]
    assert [kinds(r) for r in results] == [[ChangeKind.REPEATED]]
    rows = conn.execute("SELECT id, status, occurrences FROM alerts").fetchall()
    assert rows == [(first[0].alert.id, "open", 2)]
