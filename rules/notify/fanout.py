"""Alert changes → outbox rows: who is told, on which of their channels, and when.

Runs in the transaction that records the changes (the engine calls `enqueue_for_outcomes` right
after `lifecycle.apply`), so a change never commits without its notifications, and a rolled back
one sends nothing. Each row is unique per (change, receiver, channel), so running the fan-out of
a change twice queues nothing twice.

Who:
    raised          the receivers of the alert's tier. A care alert of a household starts at
                    its primary volunteers; when a tier is empty it moves on at once (backup
                    volunteers, then staff) and records the escalation.
    repeated        the receivers of the current tier, only when the repeat raised the severity.
    (auto_)resolved everyone who was told about the alert, so a volunteer knows it cleared.

When (quiet hours): a non-critical notification about a household, during the household's local
quiet hours, is due when they end; a critical one goes at once. Alerts without a household
(maintenance and security, to the site's managers) are not deferred: sites have no quiet hours,
and a manager who does not want a warning at night mutes the channel, not the outbox.
Escalation and reminders count from the time the notification is due, not from the raise, so a
deferred care alert is not escalated to the backup before the volunteer could have seen it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import TupleRow

from rules.lifecycle import Outcome
from rules.notify.messages import Place, payload, render
from rules.policy import NotifyPolicy
from store.alerts import escalations, outbox, transitions
from store.alerts import receivers as alert_receivers
from store.alerts.named import named
from store.alerts.receivers import Receiver
from store.alerts.records import MAX_ESCALATION_TIER, Alert, AlertChange, Category, ChangeKind

logger = logging.getLogger(__name__)

#: The channels senders exist for; a person's other channel entries are ignored (and logged).
KNOWN_CHANNELS = ("webhook", "apprise")
#: A site's zone is NOT NULL in the schema; this only covers a site deleted meanwhile.
FALLBACK_TIMEZONE = "UTC"
_SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True, slots=True)
class Audience:
    """What the receivers of one alert share: its place and the quiet hours that apply."""

    place: Place
    quiet_start: time | None = None
    quiet_end: time | None = None


def enqueue_for_outcomes(
    conn: psycopg.Connection[TupleRow],
    outcomes: Iterable[Outcome],
    policy_of: Callable[[str], NotifyPolicy],
    now: datetime,
) -> int:
    """Queue the notifications of what `lifecycle.apply` did; returns the rows queued.

    `policy_of` maps a rule id to its notify policy; `now` is the engine's time (event time in
    a replay), which quiet hours and the escalation and reminder schedules count from.
    """
    return sum(
        enqueue_for_change(conn, o.alert, o.change, policy_of(o.alert.rule_id), now)
        for o in outcomes
    )


def enqueue_for_change(
    conn: psycopg.Connection[TupleRow],
    alert: Alert,
    change: AlertChange,
    policy: NotifyPolicy,
    now: datetime,
) -> int:
    """Queue the notifications one change calls for (see the module docstring); rows queued.

    Also usable for changes a person makes (a manual resolve tells whoever was told).
    """
    kind = change.change
    if kind == ChangeKind.RAISED:
        return _raised(conn, alert, change, policy, now)
    if kind == ChangeKind.REPEATED:
        before = transitions.previous_severity(conn, alert.id, change.id)
        if before is None or _SEVERITY_RANK[alert.severity] <= _SEVERITY_RANK[before]:
            return 0
        audience = audience_of(conn, alert)
        receivers = alert_receivers.receivers_for(conn, alert)
        return notify(
            conn, alert, change, receivers, audience, due_at(alert, policy, audience, now)
        )
    if kind in (ChangeKind.AUTO_RESOLVED, ChangeKind.RESOLVED):
        audience = audience_of(conn, alert)
        receivers = alert_receivers.told_about(conn, alert.id)
        return notify(
            conn, alert, change, receivers, audience, due_at(alert, policy, audience, now)
        )
    return 0


def notify(
    conn: psycopg.Connection[TupleRow],
    alert: Alert,
    change: AlertChange,
    receivers: Sequence[Receiver],
    audience: Audience,
    due: datetime,
) -> int:
    """One row per receiver per channel they have, rendered in their language; rows queued."""
    if not receivers:
        logger.warning("alert %s %s: nobody to notify", alert.id, change.change)
    queued = 0
    for receiver in receivers:
        channels = channels_of(receiver)
        if not channels:
            logger.warning(
                "alert %s %s: %s has no channel to reach them",
                alert.id,
                change.change,
                receiver.person_id,
            )
            continue
        message = render(alert, change, audience.place, language=receiver.language)
        body = payload(
            alert,
            change,
            message,
            receiver=receiver.person_id,
            timezone=audience.place.timezone,
            devices=audience.place.devices,
            household_label=audience.place.household_label,
        )
        for channel in channels:
            queued += outbox.enqueue(
                conn,
                alert_change_id=change.id,
                alert_id=alert.id,
                receiver=receiver.person_id,
                channel=channel,
                payload=body,
                due_at=due,
            )
    return queued


def channels_of(receiver: Receiver) -> list[str]:
    """The receiver's channels that have a sender and a target."""
    unknown = sorted(set(receiver.channels) - set(KNOWN_CHANNELS))
    if unknown:
        logger.warning("%s: ignoring unknown channels %s", receiver.person_id, unknown)
    return [c for c in KNOWN_CHANNELS if receiver.channels.get(c)]


def first_tier_with_receivers(
    conn: psycopg.Connection[TupleRow], alert: Alert, from_tier: int
) -> tuple[int, list[Receiver]] | None:
    """The first tier at or above `from_tier` that somebody holds, with its receivers."""
    for tier in range(from_tier, MAX_ESCALATION_TIER + 1):
        receivers = alert_receivers.receivers_for(conn, alert, tier)
        if receivers:
            return tier, receivers
    return None


def escalates(alert: Alert) -> bool:
    """Only care alerts of a household have tiers; the others go to one group of people."""
    return alert.category == Category.CARE and alert.household_id is not None


def audience_of(conn: psycopg.Connection[TupleRow], alert: Alert) -> Audience:
    """The alert's place, with its devices' names as they are now (one query per change, shared
    by all its receivers)."""
    devices = named(conn, [alert])[0].device_names
    if alert.household_id is not None:
        household = alert_receivers.household(conn, alert.site_id, alert.household_id)
        if household is not None:
            return Audience(
                Place(household.timezone, household.label, devices),
                household.quiet_start,
                household.quiet_end,
            )
    zone = alert_receivers.site_timezone(conn, alert.site_id) or FALLBACK_TIMEZONE
    return Audience(Place(zone, devices=devices))


def due_at(alert: Alert, policy: NotifyPolicy, audience: Audience, now: datetime) -> datetime:
    """When a notification about `alert` may go: now, or at the end of quiet hours."""
    if alert.severity == "critical" or not policy.respect_quiet_hours:
        return now
    end = quiet_until(now, audience.place.timezone, audience.quiet_start, audience.quiet_end)
    return now if end is None else end


def quiet_until(
    now: datetime, timezone: str, start: time | None, end: time | None
) -> datetime | None:
    """The end (UTC) of the quiet period `now` falls in, or None when `now` is not quiet.

    `start`/`end` are local times in `timezone`; start > end spans midnight (22:00-07:00).
    """
    if start is None or end is None or start == end:
        return None
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    t = local.time().replace(tzinfo=None)
    if start < end:
        if not start <= t < end:
            return None
        end_day = local.date()
    elif t >= start:
        end_day = local.date() + timedelta(days=1)
    elif t < end:
        end_day = local.date()
    else:
        return None
    # A wall time that a DST change skips resolves to the instant after the gap.
    return max(datetime.combine(end_day, end, tzinfo=zone).astimezone(UTC), now)


def after(due: datetime, seconds: float | None) -> datetime | None:
    return None if seconds is None else due + timedelta(seconds=seconds)


def _raised(
    conn: psycopg.Connection[TupleRow],
    alert: Alert,
    change: AlertChange,
    policy: NotifyPolicy,
    now: datetime,
) -> int:
    audience = audience_of(conn, alert)
    due = due_at(alert, policy, audience, now)
    if escalates(alert):
        found = first_tier_with_receivers(conn, alert, alert.escalation_tier)
        if found is None:
            receivers: list[Receiver] = []
            next_escalation = None
        else:
            tier, receivers = found
            if tier > alert.escalation_tier:
                # Nobody at the first tier(s): the alert starts where someone can see it.
                moved = escalations.escalate(conn, alert.id, to_tier=tier, at=now)
                if moved is not None:
                    alert = moved[0]
            last = tier >= MAX_ESCALATION_TIER
            next_escalation = None if last else after(due, policy.escalate_after_s)
        escalations.set_next_escalation(conn, alert.id, next_escalation)
    else:
        receivers = alert_receivers.receivers_for(conn, alert)
    escalations.set_next_reminder(conn, alert.id, after(due, policy.remind_every_s))
    return notify(conn, alert, change, receivers, audience, due)
