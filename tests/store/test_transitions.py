"""store.alerts.transitions: one open alert per dedup key under races, transitions, history,
NOTIFY."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import TupleRow

from store.alerts import escalations, transitions
from store.alerts.transitions import Alert, AlertChange

T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
Conn = psycopg.Connection[TupleRow]


@pytest.fixture
def conn(database_url: str) -> Iterator[Conn]:
    with psycopg.connect(database_url) as connection:
        connection.execute(
            """
            INSERT INTO sites (id) VALUES ('court'), ('river');
            INSERT INTO households (site_id, id, label) VALUES ('court', 'h1', 'Unit 3-201');
            INSERT INTO people (id, name, kind) VALUES ('ana', 'Ana', 'volunteer');
            """
        )
        connection.commit()
        yield connection


def raise_alert(
    conn: Conn,
    key: str = "inactivity:h1",
    *,
    category: str = "care",
    severity: str = "warning",
    at: datetime = T0,
    value: float | None = None,
    site: str = "court",
    **extra: datetime | None,
) -> tuple[Alert, AlertChange]:
    return transitions.raise_or_repeat(
        conn,
        dedup_key=key,
        rule_id=key.split(":")[0],
        site_id=site,
        subject=key.split(":")[-1],
        household_id="h1" if category == "care" else None,
        category=category,
        severity=severity,
        summary_key="alert.inactivity",
        summary_args={"hours": 12},
        value=value,
        metric=None,
        at=at,
        actor=f"rule:{key.split(':')[0]}",
        **extra,
    )


def test_concurrent_raises_of_one_key_leave_one_open_alert(conn: Conn, database_url: str) -> None:
    rounds = 50
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def engine(n: int) -> None:
        try:
            with psycopg.connect(database_url) as own:
                for i in range(rounds):
                    barrier.wait(timeout=10)  # both engines fire the same key at the same moment
                    raise_alert(own, "pump-starts:p1", category="maintenance", value=n * 100 + i)
                    own.commit()
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=engine, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    rows = conn.execute(
        "SELECT id, status, occurrences FROM alerts WHERE dedup_key = 'pump-starts:p1'"
    ).fetchall()
    assert [(status, n) for _, status, n in rows] == [("open", 2 * rounds)]
    changes = transitions.history(conn, rows[0][0])
    assert [c.change for c in changes] == ["raised"] + ["repeated"] * (2 * rounds - 1)
    assert all(c.actor == "rule:pump-starts" and c.at == T0 for c in changes)


def test_raises_racing_auto_resolves_never_leave_two_open(conn: Conn, database_url: str) -> None:
    rounds = 30
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(step: Callable[[Conn], object]) -> None:
        try:
            with psycopg.connect(database_url) as own:
                for _ in range(rounds):
                    barrier.wait(timeout=10)
                    step(own)
                    own.commit()
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [
        threading.Thread(target=run, args=(lambda c: raise_alert(c, "level:t1"),)),
        threading.Thread(
            target=run,
            args=(
                lambda c: transitions.resolve_by_dedup_key(c, "level:t1", actor="system", at=T0),
            ),
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    counts = conn.execute(
        "SELECT count(*) FILTER (WHERE status <> 'resolved'), sum(occurrences) FROM alerts"
    ).fetchone()
    assert counts is not None and counts[0] <= 1 and counts[1] == rounds


def test_removing_a_household_keeps_its_alerts(conn: Conn) -> None:
    alert, _ = raise_alert(conn)
    conn.execute("DELETE FROM households WHERE id = 'h1'")
    kept = transitions.get(conn, alert.id)
    assert (kept.household_id, kept.site_id, len(transitions.history(conn, alert.id))) == (
        None,
        "court",
        1,
    )


def test_a_raise_after_resolve_opens_a_new_alert(conn: Conn) -> None:
    first, raised = raise_alert(conn)
    again, repeated = raise_alert(conn, at=T0 + timedelta(minutes=5))
    assert (raised.change, repeated.change) == ("raised", "repeated")
    assert again.id == first.id and again.occurrences == 2
    transitions.resolve(conn, first.id, actor="user:ana", at=T0 + timedelta(minutes=10))
    new, change = raise_alert(conn, at=T0 + timedelta(minutes=20))
    assert new.id != first.id
    assert (new.status, new.occurrences, change.change) == ("open", 1, "raised")
    assert transitions.get(conn, first.id).status == "resolved"


def test_a_repeat_keeps_the_higher_severity_and_the_newest_details(conn: Conn) -> None:
    raise_alert(conn, severity="warning", value=1.0, at=T0)
    raise_alert(conn, severity="critical", value=2.0, at=T0 + timedelta(minutes=2))
    late, _ = raise_alert(conn, severity="info", value=0.5, at=T0 - timedelta(minutes=1))
    assert late.severity == "critical"
    assert late.value == 2.0  # the late repeat counts but does not overwrite the newest value
    assert (late.first_seen, late.last_seen, late.occurrences) == (
        T0 - timedelta(minutes=1),
        T0 + timedelta(minutes=2),
        3,
    )


def test_a_whole_lifecycle_is_recorded_with_actor_and_time(conn: Conn) -> None:
    alert, _ = raise_alert(conn, category="maintenance", severity="critical")
    at = [T0 + timedelta(minutes=m) for m in range(6)]
    transitions.acknowledge(conn, alert.id, actor="user:mgr", at=at[1])
    again, none = transitions.acknowledge(conn, alert.id, actor="user:mgr", at=at[2])
    assert none is None and again.acknowledged_at == at[1]
    transitions.assign(conn, alert.id, assignee="ana", actor="user:mgr", at=at[2])
    assert transitions.assign(conn, alert.id, assignee="ana", actor="user:mgr", at=at[3])[1] is None
    transitions.comment(conn, alert.id, text="pump replaced", actor="user:ana", at=at[3])
    done, _ = transitions.resolve(conn, alert.id, actor="user:ana", at=at[4])
    transitions.comment(conn, alert.id, text="checked a day later", actor="user:mgr", at=at[5])
    assert (done.status, done.resolved_at, done.resolved_by) == ("resolved", at[4], "user:ana")
    assert done.acknowledged_by == "user:mgr" and done.assignee == "ana"
    history = [(c.change, c.actor, c.at) for c in transitions.history(conn, alert.id)]
    assert history == [
        ("raised", "rule:inactivity", T0),
        ("acknowledged", "user:mgr", at[1]),
        ("assigned", "user:mgr", at[2]),
        ("commented", "user:ana", at[3]),
        ("resolved", "user:ana", at[4]),
        ("commented", "user:mgr", at[5]),
    ]
    assert transitions.history(conn, alert.id)[2].details == {"assignee": "ana", "previous": None}


Call = Callable[[Conn, int], object]


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("acknowledge", lambda c, i: transitions.acknowledge(c, i, actor="user:ana", at=T0)),
        ("assign", lambda c, i: transitions.assign(c, i, assignee="ana", actor="user:ana", at=T0)),
        (
            "outcome",
            lambda c, i: transitions.record_outcome(
                c, i, outcome="resident_fine", actor="user:ana", at=T0
            ),
        ),
        ("resolve", lambda c, i: transitions.resolve(c, i, actor="user:ana", at=T0)),
    ],
)
def test_resolved_is_final(conn: Conn, name: str, call: Call) -> None:
    alert, _ = raise_alert(conn)
    transitions.resolve(conn, alert.id, actor="user:ana", at=T0)
    with pytest.raises(transitions.InvalidTransition, match=f"alert {alert.id} is resolved"):
        call(conn, alert.id)
    assert [c.change for c in transitions.history(conn, alert.id)] == ["raised", "resolved"]


@pytest.mark.parametrize(
    "call",
    [
        lambda c, i: transitions.get(c, i),
        lambda c, i: transitions.history(c, i),
        lambda c, i: transitions.acknowledge(c, i, actor="user:ana", at=T0),
        lambda c, i: transitions.comment(c, i, text="hello", actor="user:ana", at=T0),
        lambda c, i: transitions.resolve(c, i, actor="user:ana", at=T0),
        lambda c, i: escalations.escalate(c, i, to_tier=2, at=T0),
    ],
)
def test_unknown_alerts_are_reported(conn: Conn, call: Call) -> None:
    with pytest.raises(transitions.AlertNotFound, match="no alert with id 999"):
        call(conn, 999)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"actor": "ana", "at": T0}, "actor must be"),
        ({"actor": "user:", "at": T0}, "actor must be"),
        ({"actor": "user:ana", "at": T0.replace(tzinfo=None)}, "timezone-aware"),
    ],
)
def test_changes_need_an_actor_and_an_aware_time(
    conn: Conn, kwargs: dict[str, object], message: str
) -> None:
    alert, _ = raise_alert(conn)
    with pytest.raises(ValueError, match=message):
        transitions.acknowledge(conn, alert.id, **kwargs)  # type: ignore[arg-type]


def test_assigning_to_an_unknown_person_and_empty_comments_are_refused(conn: Conn) -> None:
    alert, _ = raise_alert(conn)
    with pytest.raises(transitions.PersonNotFound, match="'bob'"):
        transitions.assign(conn, alert.id, assignee="bob", actor="user:ana", at=T0)
    with pytest.raises(ValueError, match="needs some text"):
        transitions.comment(conn, alert.id, text="  ", actor="user:ana", at=T0)


def test_care_outcome_acknowledges_and_is_for_care_alerts_only(conn: Conn) -> None:
    care, _ = raise_alert(conn, next_escalation_at=T0 + timedelta(minutes=15))
    updated, change = transitions.record_outcome(
        conn, care.id, outcome="no_answer", actor="user:ana", at=T0, note="rang twice"
    )
    assert change is not None
    assert change.details == {"outcome": "no_answer", "previous": None, "note": "rang twice"}
    assert (updated.status, updated.outcome, updated.next_escalation_at) == (
        "acknowledged",
        "no_answer",
        None,
    )
    assert (
        transitions.record_outcome(conn, care.id, outcome="no_answer", actor="user:ana", at=T0)[1]
        is None
    )
    transitions.record_outcome(conn, care.id, outcome="resident_fine", actor="user:ana", at=T0)
    changes = [(c.change, c.details.get("outcome")) for c in transitions.history(conn, care.id)]
    assert changes == [
        ("raised", None),
        ("acknowledged", None),
        ("outcome", "no_answer"),
        ("outcome", "resident_fine"),
    ]
    with pytest.raises(ValueError, match="'fine'"):
        transitions.record_outcome(conn, care.id, outcome="fine", actor="user:ana", at=T0)

    pump, _ = raise_alert(conn, "pressure:p1", category="maintenance")
    with pytest.raises(transitions.NotCareAlert, match="maintenance alert; outcomes are recorded"):
        transitions.record_outcome(conn, pump.id, outcome="resident_fine", actor="user:ana", at=T0)
    conn.commit()
    # The database refuses it too, whoever writes.
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("UPDATE alerts SET outcome = 'resident_fine' WHERE id = %s", (pump.id,))


def test_auto_resolve_by_dedup_key(conn: Conn) -> None:
    assert transitions.resolve_by_dedup_key(conn, "level:t1", actor="rule:level", at=T0) is None
    alert, _ = raise_alert(conn, "level:t1", category="maintenance")
    resolved = transitions.resolve_by_dedup_key(conn, "level:t1", actor="rule:level", at=T0)
    assert resolved is not None
    assert (resolved[0].id, resolved[0].status, resolved[1].change) == (
        alert.id,
        "resolved",
        "auto_resolved",
    )
    assert transitions.resolve_by_dedup_key(conn, "level:t1", actor="rule:level", at=T0) is None
    _, change = transitions.resolve(
        conn, raise_alert(conn, "level:t2")[0].id, actor="rule:level", at=T0, auto=True
    )
    assert change.change == "auto_resolved"


def test_escalation_is_due_until_acknowledged(conn: Conn) -> None:
    due_at = T0 + timedelta(minutes=15)
    alert, _ = raise_alert(conn, next_escalation_at=due_at)
    raise_alert(conn, "level:t1", category="maintenance")  # no escalation time
    assert escalations.due_for_escalation(conn, due_at - timedelta(seconds=1), 10) == []
    assert [a.id for a in escalations.due_for_escalation(conn, due_at, 10)] == [alert.id]
    assert escalations.due_for_escalation(conn, due_at, 10, site_ids=["river"]) == []

    escalated = escalations.escalate(
        conn, alert.id, to_tier=2, at=due_at, next_escalation_at=due_at + timedelta(minutes=15)
    )
    assert escalated is not None
    assert escalated[0].escalation_tier == 2
    assert escalated[1].details == {"from_tier": 1, "to_tier": 2}
    # A second engine escalating to the same tier records nothing.
    assert escalations.escalate(conn, alert.id, to_tier=2, at=due_at) is None
    with pytest.raises(ValueError, match="2..3"):
        escalations.escalate(conn, alert.id, to_tier=4, at=due_at)

    transitions.acknowledge(conn, alert.id, actor="user:ana", at=due_at + timedelta(minutes=1))
    assert escalations.due_for_escalation(conn, due_at + timedelta(hours=1), 10) == []
    assert escalations.escalate(conn, alert.id, to_tier=3, at=due_at + timedelta(hours=1)) is None


def test_two_engines_never_pick_the_same_due_escalation(conn: Conn, database_url: str) -> None:
    for n in range(4):
        raise_alert(conn, f"inactivity:h{n}", next_escalation_at=T0)
    conn.commit()
    first = escalations.due_for_escalation(conn, T0, 2)  # rows stay locked: the transaction is open
    with psycopg.connect(database_url) as other:
        second = escalations.due_for_escalation(other, T0, 10)
    assert len(first) == 2 and len(second) == 2
    assert {a.id for a in first}.isdisjoint(a.id for a in second)


def test_reminders_while_unresolved(conn: Conn) -> None:
    alert, _ = raise_alert(conn, next_reminder_at=T0 + timedelta(hours=1))
    transitions.acknowledge(conn, alert.id, actor="user:ana", at=T0)
    later = T0 + timedelta(hours=1)
    assert [a.id for a in escalations.due_for_reminder(conn, later, 10)] == [alert.id]
    reminded = escalations.remind(
        conn, alert.id, at=later, next_reminder_at=later + timedelta(hours=1)
    )
    assert reminded is not None and reminded[1].change == "reminded"
    assert escalations.due_for_reminder(conn, later, 10) == []
    transitions.resolve(conn, alert.id, actor="user:ana", at=later)
    assert escalations.due_for_reminder(conn, later + timedelta(days=1), 10) == []
    assert escalations.remind(conn, alert.id, at=later, next_reminder_at=None) is None


def test_open_alerts_filters(conn: Conn) -> None:
    care, _ = raise_alert(conn, at=T0)
    pump, _ = raise_alert(conn, "pressure:p1", category="maintenance", at=T0 + timedelta(1))
    gate, _ = raise_alert(conn, "gate:g1", category="security", site="river")
    done, _ = raise_alert(conn, "level:t1", category="maintenance")
    transitions.resolve(conn, done.id, actor="user:ana", at=T0)
    assert [a.id for a in transitions.open_alerts(conn)] == [pump.id, gate.id, care.id]
    assert [a.id for a in transitions.open_alerts(conn, site_id="court")] == [pump.id, care.id]
    assert [a.id for a in transitions.open_alerts(conn, category="care")] == [care.id]
    volunteer = transitions.open_alerts(conn, household_ids=[("court", "h1")])
    assert [a.id for a in volunteer] == [care.id]
    assert transitions.open_alerts(conn, household_ids=[]) == []


def test_a_listener_hears_each_change_at_commit(conn: Conn, database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as listener:
        transitions.listen(listener)
        alert, change = raise_alert(conn)
        assert list(listener.notifies(timeout=0.2)) == []  # not before the commit
        conn.commit()
        heard = list(listener.notifies(timeout=5, stop_after=1))
        transitions.acknowledge(conn, alert.id, actor="user:ana", at=T0)
        conn.rollback()
        assert list(listener.notifies(timeout=0.2)) == []  # never for a rolled-back change
    assert [n.channel for n in heard] == [transitions.CHANGES_CHANNEL]
    assert json.loads(heard[0].payload) == {
        "alert_id": alert.id,
        "change_id": change.id,
        "change": "raised",
        "site_id": "court",
        "household_id": "h1",
        "category": "care",
    }
