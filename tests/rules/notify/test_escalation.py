"""rules.notify.escalation: tiers 1 → 2 → 3, acknowledgement stops it, reminders, two engines."""

from __future__ import annotations

from datetime import timedelta

import psycopg

from rules.notify import escalation
from rules.notify.escalation import Escalation
from rules.policy import NotifyPolicy
from rules.rule import Category, Severity
from store.alerts import transitions
from tests.rules.notify.community import MORNING, NIGHT, POLICY, T0, Conn, fire, rows, signal

S = timedelta(seconds=1)
NO_REMINDERS = NotifyPolicy(escalate_after_s=600.0, remind_every_s=None)


def tick(
    conn: Conn, at: timedelta, policy: NotifyPolicy = NO_REMINDERS
) -> escalation.EscalationReport:
    return escalation.tick(conn, T0 + at, lambda rule: policy)


def test_unacknowledged_care_alert_climbs_every_tier(conn: Conn) -> None:
    [raised], _ = fire(conn, signal(household="h1"), policies={"inactivity": NO_REMINDERS})
    alert_id = raised.alert.id
    assert tick(conn, 599 * S).escalated == ()
    second = tick(conn, 600 * S)
    assert second.escalated == (Escalation(alert_id, 1, 2, ("bo",)),)
    assert second.notifications == 1  # bo's Apprise URL
    assert tick(conn, 1199 * S).escalated == ()
    third = tick(conn, 1200 * S)
    assert third.escalated == (Escalation(alert_id, 2, 3, ("st",)),)
    # The last tier: nothing more to do, ever.
    assert transitions.get(conn, alert_id).next_escalation_at is None
    assert tick(conn, timedelta(days=1)) == escalation.EscalationReport()
    assert [(r[0], r[1], r[2]) for r in rows(conn)] == [
        ("raised", "ana", "webhook"),
        ("escalated", "bo", "apprise"),
        ("escalated", "st", "webhook"),
    ]
    escalated = [c for c in transitions.history(conn, alert_id) if c.change == "escalated"]
    assert [c.at for c in escalated] == [T0 + 600 * S, T0 + 1200 * S]


def test_an_empty_tier_is_skipped(conn: Conn) -> None:
    [raised], _ = fire(conn, signal(household="h2"))  # di is primary; h2 has no backup
    report = tick(conn, 600 * S)
    assert report.escalated == (Escalation(raised.alert.id, 1, 3, ("st",)),)


def test_nobody_above_leaves_the_alert_where_it_is(conn: Conn) -> None:
    conn.execute("DELETE FROM assignments WHERE role = 'staff'")
    [raised], _ = fire(conn, signal(household="h2"))
    report = tick(conn, 600 * S)
    assert (report.escalated, report.exhausted) == ((), (raised.alert.id,))
    alert = transitions.get(conn, raised.alert.id)
    assert (alert.escalation_tier, alert.next_escalation_at) == (1, None)


def test_acknowledgement_stops_escalation(conn: Conn) -> None:
    [raised], _ = fire(conn, signal(household="h1"))
    transitions.acknowledge(conn, raised.alert.id, actor="user:ana", at=T0 + 300 * S)
    assert tick(conn, 600 * S).escalated == ()
    assert tick(conn, timedelta(hours=5)).escalated == ()
    assert [r[1] for r in rows(conn)] == ["ana"]


def test_acknowledged_after_escalation_stops_the_next_tier(conn: Conn) -> None:
    [raised], _ = fire(conn, signal(household="h1"))
    tick(conn, 600 * S)
    transitions.acknowledge(conn, raised.alert.id, actor="user:bo", at=T0 + 700 * S)
    assert tick(conn, 1200 * S).escalated == ()
    assert transitions.get(conn, raised.alert.id).escalation_tier == 2


def test_maintenance_alerts_do_not_escalate(conn: Conn) -> None:
    [raised], _ = fire(conn, signal(household=None, category=Category.MAINTENANCE, subject="p"))
    # even when something scheduled an escalation for one
    conn.execute("UPDATE alerts SET next_escalation_at = %s", (T0,))
    assert tick(conn, 600 * S).escalated == ()
    assert transitions.get(conn, raised.alert.id).next_escalation_at is None


def test_reminders_repeat_while_the_alert_stays_open(conn: Conn) -> None:
    policy = NotifyPolicy(escalate_after_s=None, remind_every_s=3600.0)
    [raised], _ = fire(conn, signal(household="h1"), policies={"inactivity": policy})
    alert_id = raised.alert.id
    assert tick(conn, 3599 * S, policy).reminded == ()
    assert tick(conn, 3600 * S, policy).reminded == (alert_id,)
    assert tick(conn, 3601 * S, policy).reminded == ()
    # acknowledged alerts are still reminded until they are resolved
    transitions.acknowledge(conn, alert_id, actor="user:ana", at=T0 + 4000 * S)
    assert tick(conn, 7200 * S, policy).reminded == (alert_id,)
    transitions.resolve(conn, alert_id, actor="user:ana", at=T0 + 8000 * S)
    assert tick(conn, 10800 * S, policy).reminded == ()
    assert [(r[0], r[1]) for r in rows(conn)] == [
        ("raised", "ana"),
        ("reminded", "ana"),
        ("reminded", "ana"),
    ]
    [_, first, second] = outbox_payloads(conn)
    assert "Nobody has acknowledged it yet." in str(first["body"])
    assert "Acknowledged at Nov 28, 2026, 17:06 (China Standard Time)." in str(second["body"])


def test_a_reminder_goes_to_the_current_tier(conn: Conn) -> None:
    [raised], _ = fire(conn, signal(household="h1"))  # escalate after 10 min, remind every hour
    tick(conn, 600 * S, POLICY)
    tick(conn, 1200 * S, POLICY)
    report = tick(conn, 3600 * S, POLICY)
    assert report.reminded == (raised.alert.id,)
    assert [r[1] for r in rows(conn) if r[0] == "reminded"] == ["st"]


def test_escalation_at_night_reaches_the_backup_in_the_morning(conn: Conn) -> None:
    # Raised in the evening, before quiet hours; due for escalation once they began.
    evening = NIGHT - timedelta(hours=1, minutes=5)  # 21:55 local
    [raised], _ = fire(conn, signal(household="h1", at=evening))
    report = escalation.tick(conn, evening + 600 * S, lambda rule: NO_REMINDERS)
    assert [e.to_tier for e in report.escalated] == [2]
    assert rows(conn)[-1] == ("escalated", "bo", "apprise", MORNING)
    assert transitions.get(conn, raised.alert.id).next_escalation_at == MORNING + 600 * S


def test_a_critical_alert_escalates_at_night_at_once(conn: Conn) -> None:
    fire(conn, signal(household="h1", severity=Severity.CRITICAL, at=NIGHT))
    escalation.tick(conn, NIGHT + 600 * S, lambda rule: NO_REMINDERS)
    assert rows(conn)[-1] == ("escalated", "bo", "apprise", NIGHT + 600 * S)


def test_two_engines_never_escalate_one_alert_twice(conn: Conn, database_url: str) -> None:
    fire(conn, signal(household="h1"))
    fire(conn, signal(household="h2"))
    conn.commit()
    first = tick(conn, 600 * S)  # holds its alerts' locks until it commits
    with psycopg.connect(database_url) as other:
        second = escalation.tick(other, T0 + 600 * S, lambda rule: NO_REMINDERS)
        other.commit()
        assert len(first.escalated) == 2 and second.escalated == ()
        conn.commit()
        # Committed: the alerts are due again only at their next tier's time.
        third = escalation.tick(other, T0 + 600 * S, lambda rule: NO_REMINDERS)
        assert third.escalated == ()
    changes = conn.execute("SELECT count(*) FROM alert_changes WHERE change = 'escalated'")
    assert changes.fetchone() == (2,)


def test_two_engines_split_the_due_alerts(conn: Conn, database_url: str) -> None:
    for household in ("h1", "h2"):
        fire(conn, signal(household=household))
    conn.commit()
    first = escalation.tick(conn, T0 + 600 * S, lambda rule: NO_REMINDERS, limit=1)
    with psycopg.connect(database_url) as other:
        second = escalation.tick(other, T0 + 600 * S, lambda rule: NO_REMINDERS)
        other.commit()
    conn.commit()
    assert len(first.escalated) == len(second.escalated) == 1
    assert first.escalated[0].alert_id != second.escalated[0].alert_id


def outbox_payloads(conn: Conn) -> list[dict[str, object]]:
    return [dict(r[0]) for r in conn.execute("SELECT payload FROM notifications ORDER BY id")]
