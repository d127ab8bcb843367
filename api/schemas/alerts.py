"""Alerts, their history, and the actions people take on them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from api.schemas.common import Body, Identifier, Model, Text

Category = Literal["maintenance", "care", "security"]
Severity = Literal["info", "warning", "critical"]
Status = Literal["open", "acknowledged", "resolved"]
Outcome = Literal["resident_fine", "needed_help", "no_answer", "false_alarm"]


class AlertPublic(Model):
    id: int
    rule_id: str
    site_id: str
    subject: str = Field(description="What the alert is about: a device id or a household.")
    subject_name: str = Field(
        description="The subject as people call it, in `language`: the name people gave the "
        "device, else `subject` itself."
    )
    household_id: str | None
    category: Category
    severity: Severity
    status: Status
    summary_key: str = Field(description="English template (a gettext msgid) of the summary.")
    summary_args: dict[str, object]
    summary: str = Field(
        description="The summary in the caller's language (`language`): their setting, else "
        "Accept-Language, else their site's default."
    )
    language: str = Field(description="The language of `summary` and the labels: zh-CN or en.")
    category_label: str = Field(description="`category` in the caller's language.")
    severity_label: str = Field(description="`severity` in the caller's language.")
    status_label: str = Field(description="`status` in the caller's language.")
    value: float | None
    metric: str | None
    first_seen: datetime
    last_seen: datetime
    occurrences: int
    assignee: str | None
    outcome: Outcome | None
    escalation_tier: int
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None


class AlertChangePublic(Model):
    id: int
    alert_id: int
    at: datetime
    actor: str = Field(description="`user:<id>`, `rule:<id>` or `system`.")
    change: str
    details: dict[str, object]


class AlertDetail(AlertPublic):
    history: list[AlertChangePublic]


class AlertPage(Model):
    items: list[AlertPublic]
    next_cursor: str | None


class AlertChanged(Model):
    """An SSE event: a change and the alert as it is after it."""

    change: AlertChangePublic
    alert: AlertPublic


class AssignRequest(Body):
    assignee: Identifier | None = Field(
        description="A person assigned at the alert's site; null unassigns."
    )


class CommentRequest(Body):
    text: Text


class ResolveRequest(Body):
    note: Text | None = None


class OutcomeRequest(Body):
    outcome: Outcome
    note: Text | None = None


class ActionResult(Model):
    alert: AlertPublic
    change: AlertChangePublic | None = Field(
        description="The change recorded; null when the action changed nothing."
    )
