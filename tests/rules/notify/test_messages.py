"""rules.notify.messages: what a receiver reads (local time, zone named) and the payload's codes."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime

import pytest

from rules.notify.messages import Place, iso_utc, payload, render, summary_of
from store.alerts.records import Alert, AlertChange

T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)

ALERT = Alert(
    id=7,
    dedup_key="inactivity:h1",
    rule_id="inactivity",
    site_id="court",
    subject="h1",
    household_id="h1",
    category="care",
    severity="warning",
    status="open",
    summary_key="No activity in {household} for {hours} hours",
    summary_args={"household": "Unit 3-201", "hours": 5.5},
    value=5.5,
    metric="silence_h",
    first_seen=T0,
    last_seen=T0,
    occurrences=1,
    assignee=None,
    outcome=None,
    escalation_tier=1,
    next_escalation_at=None,
    next_reminder_at=None,
    acknowledged_at=None,
    acknowledged_by=None,
    resolved_at=None,
    resolved_by=None,
)
SHANGHAI = Place("Asia/Shanghai", "Unit 3-201")


def change(kind: str, details: dict[str, object] | None = None) -> AlertChange:
    return AlertChange(70, 7, T0, "rule:inactivity", kind, details or {})


@pytest.mark.parametrize(
    ("kind", "details", "title", "line"),
    [
        (
            "raised",
            {},
            "New warning alert: No activity in Unit 3-201 for 5.5 hours",
            "First seen at Nov 28, 2026, 16:00 (China Standard Time).",
        ),
        (
            "escalated",
            {"from_tier": 1, "to_tier": 2},
            "Nobody has acknowledged this alert yet: No activity in Unit 3-201 for 5.5 hours",
            "It went to the people before you at tier 1 and is still unacknowledged.",
        ),
        (
            "reminded",
            {},
            "Reminder, this alert is still open: No activity in Unit 3-201 for 5.5 hours",
            "Nobody has acknowledged it yet.",
        ),
        (
            "auto_resolved",
            {},
            "Cleared: No activity in Unit 3-201 for 5.5 hours",
            "The condition cleared at Nov 28, 2026, 16:00 (China Standard Time).",
        ),
        (
            "acknowledged",
            {},
            "Alert updated (Acknowledged): No activity in Unit 3-201 for 5.5 hours",
            "Household Unit 3-201 at site court.",
        ),
    ],
)
def test_each_change_reads_as_a_sentence_in_local_time(
    kind: str, details: dict[str, object], title: str, line: str
) -> None:
    message = render(ALERT, change(kind, details), SHANGHAI, language="en")
    assert message.title == title
    assert line in message.body.splitlines()
    assert message.language == "en"


def test_times_follow_the_zone_of_the_place() -> None:
    berlin = render(ALERT, change("raised"), Place("Europe/Berlin"), language="en")
    assert "First seen at Nov 28, 2026, 09:00 (Central European Standard Time)." in berlin.body
    # Without a label the household is named by its id.
    assert "Household h1 at site court." in berlin.body


def test_repeats_and_acknowledgement_are_told() -> None:
    alert = dataclasses.replace(
        ALERT,
        occurrences=3,
        last_seen=datetime(2026, 11, 28, 9, 30, tzinfo=UTC),
        acknowledged_at=datetime(2026, 11, 28, 9, 45, tzinfo=UTC),
        status="acknowledged",
    )
    body = render(alert, change("reminded"), SHANGHAI, language="en").body.splitlines()
    assert "Seen 3 times, last at Nov 28, 2026, 17:30 (China Standard Time)." in body
    assert "Acknowledged at Nov 28, 2026, 17:45 (China Standard Time)." in body


def test_a_site_alert_names_its_subject() -> None:
    alert = dataclasses.replace(
        ALERT, household_id=None, subject="pump-1", category="maintenance", severity="critical"
    )
    message = render(alert, change("raised"), Place("Asia/Shanghai"), language="en")
    assert message.title.startswith("New critical alert: ")
    assert "pump-1 at site court." in message.body.splitlines()
    assert "silence_h was 5.5 hr." in message.body.splitlines()


def test_a_language_without_a_catalogue_is_rendered_and_labelled_english() -> None:
    message = render(ALERT, change("raised"), SHANGHAI, language="fr")
    assert message.language == "en"
    assert message.title.startswith("New warning alert")


@pytest.mark.parametrize(
    ("key", "args", "expected"),
    [
        ("Level {value} %", {"value": 12.5}, "Level 12.5 %"),
        ("Level {value:.1f} %", {"value": 12.25}, "Level 12.2 %"),
        ("Level {value} of {device}", {"value": 1}, "Level 1 of {device}"),  # missing arg
        ("Level {value:.1f}", {}, "Level {value:.1f}"),  # missing arg with a format spec
        ("Level {0}", {}, "Level {0}"),  # positional: not ours to fill
        ("Broken {", {}, "Broken {"),
    ],
)
def test_summary_never_fails(key: str, args: dict[str, object], expected: str) -> None:
    alert = dataclasses.replace(ALERT, summary_key=key, summary_args=args)
    assert summary_of(alert) == expected


def test_payload_holds_codes_utc_times_and_the_text() -> None:
    alert = dataclasses.replace(ALERT, value=math.nan)
    message = render(alert, change("raised"), SHANGHAI, language="en")
    body = payload(alert, change("raised"), message, receiver="ana", timezone="Asia/Shanghai")
    assert {k: body[k] for k in ("alert_id", "change_id", "change", "category", "severity")} == {
        "alert_id": 7,
        "change_id": 70,
        "change": "raised",
        "category": "care",
        "severity": "warning",
    }
    assert (body["status"], body["site"], body["household"], body["subject"]) == (
        "open",
        "court",
        "h1",
        "h1",
    )
    assert (body["metric"], body["value"]) == ("silence_h", None)  # NaN is not JSON
    assert (body["first_seen"], body["change_at"], body["resolved_at"]) == (
        "2026-11-28T08:00:00Z",
        "2026-11-28T08:00:00Z",
        None,
    )
    assert (body["title"], body["body"], body["language"]) == (
        message.title,
        message.body,
        "en",
    )
    assert (body["receiver"], body["timezone"], body["tier"]) == ("ana", "Asia/Shanghai", 1)


def test_iso_utc_converts_any_zone() -> None:
    local = datetime.fromisoformat("2026-11-28T16:00:00+08:00")
    assert iso_utc(local) == "2026-11-28T08:00:00Z"
