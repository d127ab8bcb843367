"""rules.notify.fanout: who is told of what, on which channels, and when (quiet hours)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from rules.notify import escalation, fanout
from rules.policy import NotifyPolicy
from rules.rule import Category, Severity, SignalState
from store.alerts import outbox, transitions
from tests.rules.notify.community import (
    MORNING,
    NIGHT,
    T0,
    Conn,
    fire,
    rows,
    set_channels,
    signal,
)

CLEAR = SignalState.CLEAR
MIN = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("now", "zone", "start", "end", "expected"),
    [
        # 22:00-07:00 in Shanghai (UTC+8): 14:00-23:00 UTC
        ("2026-11-28T13:59:00Z", "Asia/Shanghai", time(22), time(7), None),
        ("2026-11-28T14:00:00Z", "Asia/Shanghai", time(22), time(7), "2026-11-28T23:00:00Z"),
        ("2026-11-28T15:00:00Z", "Asia/Shanghai", time(22), time(7), "2026-11-28T23:00:00Z"),
        # after local midnight: the same night's end, not the next one
        ("2026-11-28T20:00:00Z", "Asia/Shanghai", time(22), time(7), "2026-11-28T23:00:00Z"),
        ("2026-11-28T23:00:00Z", "Asia/Shanghai", time(22), time(7), None),
        # a window within one day
        ("2026-11-28T04:30:00Z", "Asia/Shanghai", time(12), time(14), "2026-11-28T06:00:00Z"),
        ("2026-11-28T06:00:00Z", "Asia/Shanghai", time(12), time(14), None),
        ("2026-11-28T03:59:00Z", "Asia/Shanghai", time(12), time(14), None),
        # no quiet hours, or an empty window
        ("2026-11-28T15:00:00Z", "Asia/Shanghai", None, None, None),
        ("2026-11-28T15:00:00Z", "Asia/Shanghai", time(7), time(7), None),
        # the night DST ends in Berlin (2026-10-25, 03:00 CEST -> 02:00 CET): 07:00 is CET
        ("2026-10-24T22:00:00Z", "Europe/Berlin", time(22), time(7), "2026-10-25T06:00:00Z"),
        # the night DST starts (2026-03-29): 07:00 is CEST
        ("2026-03-28T22:00:00Z", "Europe/Berlin", time(22), time(7), "2026-03-29T05:00:00Z"),
    ],
)
def test_quiet_until(
    now: str, zone: str, start: time | None, end: time | None, expected: str | None
) -> None:
    result = fanout.quiet_until(datetime.fromisoformat(now), zone, start, end)
    assert result == (None if expected is None else datetime.fromisoformat(expected))
    assert result is None or result.tzinfo is not None


def test_a_care_alert_goes_to_the_primary_volunteers_and_is_scheduled(conn: Conn) -> None:
    [raised], queued = fire(conn, signal(household="h1"))
    assert queued == 1
    assert rows(conn) == [("raised", "ana", "webhook", T0)]
    alert = transitions.get(conn, raised.alert.id)
    assert alert.next_escalation_at == T0 + timedelta(seconds=600)
    assert alert.next_reminder_at == T0 + timedelta(seconds=3600)
    [claimed] = outbox.claim_due(conn, T0, 10, 30)
    assert claimed.idempotency_key == f"{raised.change.id}:ana:webhook"
    body = claimed.payload
    assert (body["change"], body["category"], body["household"], body["receiver"]) == (
        "raised",
        "care",
        "h1",
        "ana",
    )
    # The household by its label; its id stays in `household` and `subject`.
    assert body["title"] == "New warning alert: No activity in Unit 3-201 for 5.5 hours"
    assert (body["subject"], body["subject_name"]) == ("h1", "Unit 3-201")
    assert "Household Unit 3-201 at site court." in str(body["body"])
    assert "First seen at Nov 28, 2026, 16:00 (China Standard Time)." in str(body["body"])


def test_one_row_per_channel_of_each_receiver(conn: Conn) -> None:
    set_channels(conn, "mg", {"webhook": "http://h/mg", "apprise": ["json://h/mg"], "sms": "1"})
    _, queued = fire(conn, signal(household=None, category=Category.MAINTENANCE, subject="pump"))
    assert queued == 2  # the unknown "sms" channel is ignored
    assert [(r[1], r[2]) for r in rows(conn)] == [("mg", "webhook"), ("mg", "apprise")]
    # maintenance alerts have no tiers: nothing to escalate
    [alert] = transitions.open_alerts(conn)
    assert alert.next_escalation_at is None


def test_a_person_without_channels_gets_nothing_and_the_others_still_do(conn: Conn) -> None:
    set_channels(conn, "mg", {})
    _, queued = fire(conn, signal(household=None, category=Category.SECURITY, subject="gate"))
    assert queued == 0 and rows(conn) == []


def test_an_empty_first_tier_moves_on_at_once(conn: Conn) -> None:
    [raised], _ = fire(conn, signal(household="h3"))  # h3 has no primary volunteer
    assert [(r[0], r[1]) for r in rows(conn)] == [("raised", "bo")]
    alert = transitions.get(conn, raised.alert.id)
    assert alert.escalation_tier == 2
    assert [c.change for c in transitions.history(conn, alert.id)] == ["raised", "escalated"]
    assert alert.next_escalation_at == T0 + timedelta(seconds=600)


def test_a_repeat_notifies_only_when_the_severity_rose(conn: Conn) -> None:
    fire(conn, signal(household="h2"))
    _, same = fire(conn, signal(household="h2", at=T0 + MIN))
    _, lower = fire(conn, signal(household="h2", severity=Severity.INFO, at=T0 + 2 * MIN))
    _, higher = fire(conn, signal(household="h2", severity=Severity.CRITICAL, at=T0 + 3 * MIN))
    _, again = fire(conn, signal(household="h2", severity=Severity.CRITICAL, at=T0 + 4 * MIN))
    assert (same, lower, higher, again) == (0, 0, 2, 0)  # di has a webhook and an Apprise URL
    assert [r[0] for r in rows(conn)] == ["raised", "raised", "repeated", "repeated"]


def test_auto_resolve_tells_whoever_was_told(conn: Conn) -> None:
    fire(conn, signal(household="h1"))
    conn.execute("UPDATE alerts SET next_escalation_at = %s", (T0,))
    escalation.tick(conn, T0 + MIN, lambda rule: NotifyPolicy())
    [resolved], queued = fire(conn, signal(household="h1", state=CLEAR, at=T0 + 2 * MIN))
    assert resolved.kind == "auto_resolved"
    assert queued == 2
    told = [(r[0], r[1]) for r in rows(conn) if r[0] == "auto_resolved"]
    assert told == [("auto_resolved", "ana"), ("auto_resolved", "bo")]


def test_fanning_out_a_change_twice_queues_nothing_twice(conn: Conn) -> None:
    outcomes, first = fire(conn, signal(household="h1"))
    again = fanout.enqueue_for_outcomes(conn, outcomes, lambda rule: NotifyPolicy(), T0)
    assert (first, again) == (1, 0)


@pytest.mark.parametrize(
    ("severity", "respect", "due"),
    [
        (Severity.WARNING, True, MORNING),
        (Severity.INFO, True, MORNING),
        (Severity.CRITICAL, True, NIGHT),
        (Severity.WARNING, False, NIGHT),
    ],
)
def test_quiet_hours_defer_non_critical_notifications_of_a_household(
    conn: Conn, severity: Severity, respect: bool, due: datetime
) -> None:
    policy = NotifyPolicy(600.0, 3600.0, respect_quiet_hours=respect)
    [raised], _ = fire(
        conn, signal(household="h1", severity=severity, at=NIGHT), policies={"inactivity": policy}
    )
    assert rows(conn) == [("raised", "ana", "webhook", due)]
    # Escalation and reminders count from when the volunteer can see it.
    alert = transitions.get(conn, raised.alert.id)
    assert alert.next_escalation_at == due + timedelta(seconds=600)
    assert alert.next_reminder_at == due + timedelta(seconds=3600)
    assert outbox.claim_due(conn, due - timedelta(seconds=1), 10, 30) == []
    assert len(outbox.claim_due(conn, due, 10, 30)) == 1


def test_site_alerts_are_not_deferred_at_night(conn: Conn) -> None:
    fire(conn, signal(household=None, category=Category.MAINTENANCE, subject="pump", at=NIGHT))
    assert {r[3] for r in rows(conn)} == {NIGHT}


def test_a_deferred_alert_that_clears_tells_the_same_people_as_late(conn: Conn) -> None:
    fire(conn, signal(household="h1", at=NIGHT))
    fire(conn, signal(household="h1", state=CLEAR, at=NIGHT + MIN))
    assert rows(conn) == [
        ("raised", "ana", "webhook", MORNING),
        ("auto_resolved", "ana", "webhook", MORNING),
    ]


def test_now_is_the_engines_time_not_the_signals(conn: Conn) -> None:
    # A replay applies an old signal: the notification is due at the engine's now.
    later = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    fire(conn, signal(household="h2", at=T0), now=later)
    assert {r[3] for r in rows(conn)} == {later}
