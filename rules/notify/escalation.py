"""Escalation tick: unacknowledged care alerts go to the next tier; open alerts are reminded.

`tick` runs in the caller's transaction, on a schedule (the engine's scheduler calls it every
few seconds with its clock's `now`). The due alerts are locked by `store.alerts.escalations` with
FOR UPDATE SKIP LOCKED until the caller commits, so two engines ticking at once split the due
alerts between them and never move one alert up twice; an alert acknowledged meanwhile is no
longer due (acknowledging clears its escalation time) and `escalate` refuses it anyway.

The cases, for an alert whose escalation time has come:
    not a care alert of a household, or the policy never escalates   stop escalating it
    no tier above the current one has anybody                        stop (reported exhausted)
    otherwise   move to the next tier somebody holds, notify its receivers, and schedule the
                next escalation (none from the last tier)
An alert whose reminder time has come is reminded to the receivers of its current tier, and
the next reminder is scheduled, unless its policy has no reminders.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime

import psycopg
from psycopg.rows import TupleRow

from rules.notify.fanout import (
    after,
    audience_of,
    due_at,
    escalates,
    first_tier_with_receivers,
    notify,
)
from rules.policy import NotifyPolicy
from store.alerts import escalations
from store.alerts import receivers as alert_receivers
from store.alerts.records import MAX_ESCALATION_TIER, Alert

logger = logging.getLogger(__name__)

#: Alerts handled per tick and kind; more wait for the next tick (a tick stays short).
TICK_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Escalation:
    alert_id: int
    from_tier: int
    to_tier: int
    receivers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EscalationReport:
    escalated: tuple[Escalation, ...] = ()
    #: Care alerts due for escalation with nobody above their tier: they stay where they are.
    exhausted: tuple[int, ...] = ()
    reminded: tuple[int, ...] = ()
    #: Outbox rows queued by this tick.
    notifications: int = 0


@dataclass(slots=True)
class _Tally:
    escalated: list[Escalation] = field(default_factory=list)
    exhausted: list[int] = field(default_factory=list)
    reminded: list[int] = field(default_factory=list)
    queued: int = 0


def tick(
    conn: psycopg.Connection[TupleRow],
    now: datetime,
    policy_of: Callable[[str], NotifyPolicy],
    site_ids: Collection[str] | None = None,
    *,
    limit: int = TICK_LIMIT,
) -> EscalationReport:
    """Escalate and remind what is due at `now` (of `site_ids`, default all); caller commits."""
    tally = _Tally()
    for alert in escalations.due_for_escalation(conn, now, limit, site_ids=site_ids):
        _escalate(conn, alert, policy_of(alert.rule_id), now, tally)
    moved = {e.alert_id for e in tally.escalated}
    for alert in escalations.due_for_reminder(conn, now, limit, site_ids=site_ids):
        _remind(conn, alert, policy_of(alert.rule_id), now, tally, alert.id in moved)
    if tally.escalated or tally.reminded:
        logger.info(
            "escalation tick: %d escalated, %d reminded, %d notifications",
            len(tally.escalated),
            len(tally.reminded),
            tally.queued,
        )
    return EscalationReport(
        tuple(tally.escalated), tuple(tally.exhausted), tuple(tally.reminded), tally.queued
    )


def _escalate(
    conn: psycopg.Connection[TupleRow],
    alert: Alert,
    policy: NotifyPolicy,
    now: datetime,
    tally: _Tally,
) -> None:
    if not escalates(alert) or policy.escalate_after_s is None:
        escalations.set_next_escalation(conn, alert.id, None)
        return
    found = None
    if alert.escalation_tier < MAX_ESCALATION_TIER:
        found = first_tier_with_receivers(conn, alert, alert.escalation_tier + 1)
    if found is None:
        escalations.set_next_escalation(conn, alert.id, None)
        tally.exhausted.append(alert.id)
        logger.warning(
            "care alert %s: unacknowledged at tier %s and nobody above it",
            alert.id,
            alert.escalation_tier,
        )
        return
    tier, receivers = found
    audience = audience_of(conn, alert)
    due = due_at(alert, policy, audience, now)
    next_at = None if tier >= MAX_ESCALATION_TIER else after(due, policy.escalate_after_s)
    moved = escalations.escalate(conn, alert.id, to_tier=tier, at=now, next_escalation_at=next_at)
    if moved is None:  # acknowledged or resolved since it was found due
        return
    escalated, change = moved
    tally.escalated.append(
        Escalation(alert.id, alert.escalation_tier, tier, tuple(r.person_id for r in receivers))
    )
    tally.queued += notify(conn, escalated, change, receivers, audience, due)


def _remind(
    conn: psycopg.Connection[TupleRow],
    alert: Alert,
    policy: NotifyPolicy,
    now: datetime,
    tally: _Tally,
    just_escalated: bool,
) -> None:
    if policy.remind_every_s is None:
        escalations.set_next_reminder(conn, alert.id, None)
        return
    audience = audience_of(conn, alert)
    due = due_at(alert, policy, audience, now)
    if just_escalated:
        # The new tier has just been told; a reminder on top would say the same thing twice.
        escalations.set_next_reminder(conn, alert.id, after(due, policy.remind_every_s))
        return
    reminded = escalations.remind(
        conn, alert.id, at=now, next_reminder_at=after(due, policy.remind_every_s)
    )
    if reminded is None:
        return
    current, change = reminded
    tally.reminded.append(alert.id)
    receivers = alert_receivers.receivers_for(conn, current)
    tally.queued += notify(conn, current, change, receivers, audience, due)
