"""An alert change as a receiver reads it: title and body in local time, and the payload sent.

The templates are English `str.format` strings with named placeholders: they are the gettext
msgids of the `courtyard` domain (i18n.languages). `render` looks each up in the receiver's language
and falls back to the English msgid; `Message.language` says which language the text really is
in, so a receiver is never told a text is Chinese when it is not. Times are the place's local
time with the zone's name (summer and winter time told apart), numbers and values with their
units are written the receiver's way (i18n.localformat).

The payload keeps the machine part in stable English codes and UTC ISO times, beside the human
title and body, so a receiver can route on codes and show the text as it is.
"""

from __future__ import annotations

import gettext
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from i18n import summaries
from i18n.given_names import GivenName, name_of
from i18n.labels import CHANGE, SEVERITY_WORD, code_label, label
from i18n.languages import N_, SOURCE_LANGUAGE, is_translated, normalize, translations
from i18n.localformat import local_datetime, measurement, number, zone_name
from store.alerts.records import Alert, AlertChange, ChangeKind

#: Version of the payload's shape; bumped when a field changes meaning or goes away.
PAYLOAD_VERSION = 1

TITLES: dict[str, str] = {
    ChangeKind.RAISED: N_("New {severity} alert: {summary}"),
    ChangeKind.REPEATED: N_("Alert is now {severity}: {summary}"),
    ChangeKind.ESCALATED: N_("Nobody has acknowledged this alert yet: {summary}"),
    ChangeKind.REMINDED: N_("Reminder, this alert is still open: {summary}"),
    ChangeKind.AUTO_RESOLVED: N_("Cleared: {summary}"),
    ChangeKind.RESOLVED: N_("Resolved: {summary}"),
}
#: Any other change (acknowledged, assigned, ...), should a caller notify one.
TITLE_OTHER = N_("Alert updated ({change}): {summary}")

WHERE_HOUSEHOLD = N_("Household {household} at site {site}.")
WHERE_SITE = N_("{subject} at site {site}.")
FIRST_SEEN = N_("First seen at {first_seen} ({timezone}).")
REPEATS = N_("Seen {occurrences} times, last at {last_seen} ({timezone}).")
READING = N_("{metric} was {value}.")
ESCALATED = N_("It went to the people before you at tier {from_tier} and is still unacknowledged.")
ACKNOWLEDGED = N_("Acknowledged at {acknowledged_at} ({timezone}).")
UNACKNOWLEDGED = N_("Nobody has acknowledged it yet.")
CLEARED = N_("The condition cleared at {at} ({timezone}).")
RESOLVED = N_("Resolved at {at} ({timezone}).")


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    body: str
    #: The language the title and body are in (the receiver's when a catalogue has them).
    language: str


@dataclass(frozen=True, slots=True)
class Place:
    """Where the alert happened, as its receivers are told: the zone, a household label and the
    names people gave the alert's devices (device id -> names)."""

    timezone: str
    household_label: str | None = None
    devices: Mapping[str, GivenName] = field(default_factory=dict)


def render(alert: Alert, change: AlertChange, place: Place, *, language: str) -> Message:
    """Title and body of `change` (of `alert`, as it is after the change) for one reader."""
    tr = translations(language)
    # A language without a catalogue is read in English, and labelled so.
    lang = (normalize(language) or SOURCE_LANGUAGE) if is_translated(tr) else SOURCE_LANGUAGE
    zone = place.timezone

    def text(msgid: str, **args: object) -> str:
        return tr.gettext(msgid).format_map(_Lenient(args))

    def local(at: datetime) -> str:
        return local_datetime(at, zone, lang)

    def tz(at: datetime) -> str:
        # The zone's name at that instant: a time in a repeated DST hour is not ambiguous.
        return zone_name(at, zone, lang)

    labels = (
        {alert.household_id: place.household_label}
        if alert.household_id is not None and place.household_label
        else {}
    )
    summary = summaries.render(alert.summary_key, alert.summary_args, lang, place.devices, labels)
    title = text(
        TITLES.get(change.change, TITLE_OTHER),
        severity=code_label(SEVERITY_WORD, alert.severity, tr),
        summary=summary,
        change=code_label(CHANGE, change.change, tr),
    )
    lines = [summary]
    if alert.household_id is not None:
        name = place.household_label or alert.household_id
        lines.append(text(WHERE_HOUSEHOLD, household=name, site=alert.site_id))
    else:
        subject = name_of(alert.subject, place.devices, lang)
        lines.append(text(WHERE_SITE, subject=subject, site=alert.site_id))
    if alert.metric is not None and alert.value is not None and math.isfinite(alert.value):
        lines.append(
            text(
                READING,
                metric=label(alert.metric, tr),
                value=measurement(alert.value, alert.metric, lang),
            )
        )
    lines.append(
        text(FIRST_SEEN, first_seen=local(alert.first_seen), timezone=tz(alert.first_seen))
    )
    if alert.occurrences > 1:
        lines.append(
            text(
                REPEATS,
                occurrences=number(alert.occurrences, lang),
                last_seen=local(alert.last_seen),
                timezone=tz(alert.last_seen),
            )
        )
    kind = change.change
    if kind == ChangeKind.ESCALATED:
        lines.append(text(ESCALATED, from_tier=change.details.get("from_tier", "?")))
    elif kind == ChangeKind.AUTO_RESOLVED:
        lines.append(text(CLEARED, at=local(change.at), timezone=tz(change.at)))
    elif kind == ChangeKind.RESOLVED:
        lines.append(text(RESOLVED, at=local(change.at), timezone=tz(change.at)))
    elif kind == ChangeKind.REMINDED:
        if alert.acknowledged_at is not None:
            at = alert.acknowledged_at
            lines.append(text(ACKNOWLEDGED, acknowledged_at=local(at), timezone=tz(at)))
        else:
            lines.append(text(UNACKNOWLEDGED))
    return Message(title=title, body="\n".join(lines), language=lang)


def payload(
    alert: Alert,
    change: AlertChange,
    message: Message,
    *,
    receiver: str,
    timezone: str,
    devices: Mapping[str, GivenName] | None = None,
    household_label: str | None = None,
) -> dict[str, object]:
    """What a sender sends: stable codes and UTC times, plus the human title and body.

    Devices keep their stable ids (`subject`, `device`); `subject_name` and `device_name` are
    what people call them, in the message's language (the id when nobody named the device; a
    household subject is called by its label).
    """
    device = alert.summary_args.get("device")
    subject_name = name_of(alert.subject, devices, message.language)
    if alert.subject not in (devices or {}) and alert.subject == alert.household_id:
        subject_name = household_label or alert.subject
    return {
        "version": PAYLOAD_VERSION,
        "alert_id": alert.id,
        "change_id": change.id,
        "change": change.change,
        "change_at": iso_utc(change.at),
        "actor": change.actor,
        "rule": alert.rule_id,
        "category": alert.category,
        "severity": alert.severity,
        "status": alert.status,
        "site": alert.site_id,
        "household": alert.household_id,
        "subject": alert.subject,
        "subject_name": subject_name,
        "device": device if isinstance(device, str) else None,
        "device_name": name_of(device, devices, message.language)
        if isinstance(device, str)
        else None,
        "metric": alert.metric,
        # JSON has no NaN or infinity; a non-finite reading is reported as unknown.
        "value": alert.value if alert.value is not None and math.isfinite(alert.value) else None,
        "occurrences": alert.occurrences,
        "tier": alert.escalation_tier,
        "first_seen": iso_utc(alert.first_seen),
        "last_seen": iso_utc(alert.last_seen),
        "acknowledged_at": iso_utc(alert.acknowledged_at),
        "resolved_at": iso_utc(alert.resolved_at),
        "summary_key": alert.summary_key,
        "summary_args": alert.summary_args,
        "receiver": receiver,
        "timezone": timezone,
        "language": message.language,
        "title": message.title,
        "body": message.body,
    }


def summary_of(alert: Alert, tr: gettext.NullTranslations | None = None) -> str:
    """The alert's summary template filled with its raw arguments (English unless `tr`);
    never raises.

    A template that does not match its arguments (a rule changed its wording) shows the
    placeholders it could not fill rather than losing the notification. Readers get
    `i18n.summaries.render`, which also writes numbers and units their way.
    """
    template = alert.summary_key if tr is None else tr.gettext(alert.summary_key)
    try:
        return template.format_map(_Lenient(alert.summary_args))
    except (ValueError, IndexError, AttributeError, KeyError):
        return template


def iso_utc(at: datetime | None) -> str | None:
    if at is None:
        return None
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


class _Lenient(dict[str, object]):
    """format_map arguments that leave an unknown placeholder as it is."""

    def __init__(self, values: Mapping[str, object]) -> None:
        super().__init__(values)

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
