"""An alert change as a receiver reads it: title and body in local time, and the payload sent.

The templates are English `str.format` strings with named placeholders: they are the gettext
msgids. `render` looks each up in the receiver's language (catalogues of the `courtyard` domain
under `LOCALE_DIR`) and falls back to the English msgid; `Message.language` says which language
the text really is in, so a receiver is never told a text is Chinese when it is not.

The payload keeps the machine part in stable English codes and UTC ISO times, beside the human
title and body, so a receiver can route on codes and show the text as it is.
"""

from __future__ import annotations

import gettext
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from store.alert_records import Alert, AlertChange, ChangeKind

#: Version of the payload's shape; bumped when a field changes meaning or goes away.
PAYLOAD_VERSION = 1
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "courtyard"
SOURCE_LANGUAGE = "en"

TITLES: dict[str, str] = {
    ChangeKind.RAISED: "New {severity} alert: {summary}",
    ChangeKind.REPEATED: "Alert is now {severity}: {summary}",
    ChangeKind.ESCALATED: "Nobody has acknowledged this alert yet: {summary}",
    ChangeKind.REMINDED: "Reminder, this alert is still open: {summary}",
    ChangeKind.AUTO_RESOLVED: "Cleared: {summary}",
    ChangeKind.RESOLVED: "Resolved: {summary}",
}
#: Any other change (acknowledged, assigned, ...), should a caller notify one.
TITLE_OTHER = "Alert updated ({change}): {summary}"

WHERE_HOUSEHOLD = "Household {household} at site {site}."
WHERE_SITE = "{subject} at site {site}."
FIRST_SEEN = "First seen at {first_seen} ({timezone})."
REPEATS = "Seen {occurrences} times, last at {last_seen} ({timezone})."
READING = "{metric} was {value}."
ESCALATED = "It went to the people before you at tier {from_tier} and is still unacknowledged."
ACKNOWLEDGED = "Acknowledged at {acknowledged_at} ({timezone})."
UNACKNOWLEDGED = "Nobody has acknowledged it yet."
CLEARED = "The condition cleared at {at} ({timezone})."
RESOLVED = "Resolved at {at} ({timezone})."

SEVERITY_WORDS = {"info": "info", "warning": "warning", "critical": "critical"}

#: Local times as people read them; the zone is named beside each.
TIME_FORMAT = "%Y-%m-%d %H:%M"


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    body: str
    #: The language the title and body are in (the receiver's when a catalogue has them).
    language: str


@dataclass(frozen=True, slots=True)
class Place:
    """Where the alert happened, as its receivers are told: the zone and a household label."""

    timezone: str
    household_label: str | None = None


def render(alert: Alert, change: AlertChange, place: Place, *, language: str) -> Message:
    """Title and body of `change` (of `alert`, as it is after the change) for one reader."""
    tr = _translations(language)
    zone = ZoneInfo(place.timezone)

    def text(msgid: str, **args: object) -> str:
        return tr.gettext(msgid).format_map(_Lenient(args))

    def local(at: datetime) -> str:
        return at.astimezone(zone).strftime(TIME_FORMAT)

    summary = summary_of(alert, tr)
    severity = tr.gettext(SEVERITY_WORDS.get(alert.severity, alert.severity))
    title = text(
        TITLES.get(change.change, TITLE_OTHER),
        severity=severity,
        summary=summary,
        change=change.change,
    )
    lines = [summary]
    if alert.household_id is not None:
        label = place.household_label or alert.household_id
        lines.append(text(WHERE_HOUSEHOLD, household=label, site=alert.site_id))
    else:
        lines.append(text(WHERE_SITE, subject=alert.subject, site=alert.site_id))
    if alert.metric is not None and alert.value is not None and math.isfinite(alert.value):
        lines.append(text(READING, metric=alert.metric, value=f"{alert.value:g}"))
    tz = place.timezone
    lines.append(text(FIRST_SEEN, first_seen=local(alert.first_seen), timezone=tz))
    if alert.occurrences > 1:
        lines.append(
            text(
                REPEATS,
                occurrences=alert.occurrences,
                last_seen=local(alert.last_seen),
                timezone=tz,
            )
        )
    kind = change.change
    if kind == ChangeKind.ESCALATED:
        lines.append(text(ESCALATED, from_tier=change.details.get("from_tier", "?")))
    elif kind == ChangeKind.AUTO_RESOLVED:
        lines.append(text(CLEARED, at=local(change.at), timezone=tz))
    elif kind == ChangeKind.RESOLVED:
        lines.append(text(RESOLVED, at=local(change.at), timezone=tz))
    elif kind == ChangeKind.REMINDED:
        if alert.acknowledged_at is not None:
            lines.append(
                text(ACKNOWLEDGED, acknowledged_at=local(alert.acknowledged_at), timezone=tz)
            )
        else:
            lines.append(text(UNACKNOWLEDGED))
    rendered_in = language if isinstance(tr, gettext.GNUTranslations) else SOURCE_LANGUAGE
    return Message(title=title, body="\n".join(lines), language=rendered_in)


def payload(
    alert: Alert, change: AlertChange, message: Message, *, receiver: str, timezone: str
) -> dict[str, object]:
    """What a sender sends: stable codes and UTC times, plus the human title and body."""
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
    """The alert's summary template filled with its arguments; never raises.

    A template that does not match its arguments (a rule changed its wording) shows the
    placeholders it could not fill rather than losing the notification.
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


@lru_cache(maxsize=16)
def _translations(language: str) -> gettext.NullTranslations:
    # zh-CN (the database's code) is zh_CN to gettext.
    return gettext.translation(
        DOMAIN, localedir=LOCALE_DIR, languages=[language.replace("-", "_")], fallback=True
    )


class _Lenient(dict[str, object]):
    """format_map arguments that leave an unknown placeholder as it is."""

    def __init__(self, values: Mapping[str, object]) -> None:
        super().__init__(values)

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
