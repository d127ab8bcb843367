"""Rule definitions and backtests."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from api.schemas.alerts import Category, Severity
from api.schemas.common import Body, Identifier, Model

#: Longest escalation delay or reminder interval: a year. Longer is "never" (null), and
#: would overflow the engine's date arithmetic long before it mattered.
MAX_DELAY_S = 365 * 86400
Delay = Annotated[float, Field(gt=0, le=MAX_DELAY_S, allow_inf_nan=False)]


class NotifyPolicy(Model):
    """How the rule's alerts reach people. The defaults are the rules engine's
    (rules/policy.py; tests/api/test_rules.py checks that they agree)."""

    escalate_after_s: Delay | None = Field(
        default=600.0,
        description="Seconds an unacknowledged care alert waits before it goes to the next "
        "tier (backup volunteer, then staff). Null: never escalate.",
    )
    remind_every_s: Delay | None = Field(
        default=3600.0,
        description="While an alert stays open, its current receivers are reminded this often, "
        "in seconds. Null: no reminders.",
    )
    respect_quiet_hours: bool = Field(
        default=True,
        description="Non-critical notifications wait for the end of the household's (else the "
        "site's) quiet hours. Critical ones never wait.",
    )


class RuleBody(Body):
    """A whole rule definition. PUT replaces the stored one: a field left out takes the default
    shown here (as in a rules file), not the value stored before."""

    kind: Identifier = Field(description="Catalogue entry, e.g. `threshold`, `inactivity`.")
    site_id: Identifier | None = Field(
        default=None,
        description="The one site it runs at (whatever `scope.sites` says). Null: every site "
        "its scope allows.",
    )
    description: str = Field(
        default="",
        max_length=4000,
        description="What the rule watches and why, for people (shown as written).",
    )
    scope: dict[str, object] = Field(
        default_factory=dict, description="Which devices, metrics or households it watches."
    )
    params: dict[str, object] = Field(
        default_factory=dict, description="The kind's parameters (the rules engine checks them)."
    )
    category: Category
    severity: Severity
    enabled: bool = True
    auto_resolve: bool = Field(
        default=True,
        description="Resolve the alert by itself when the condition clears. SOS and fall alerts "
        "never do, whatever this says: a person closes them.",
    )
    notify: NotifyPolicy = Field(
        default_factory=NotifyPolicy,
        description="Escalation, reminders and quiet hours. A key left out takes its default.",
    )


class RulePublic(RuleBody):
    """A stored rule definition."""

    id: str
    # Rules files write descriptions too, without the request's bound.
    description: str = Field(description="What the rule watches and why, for people.")
    created_at: datetime
    updated_at: datetime


class BacktestRequest(Body):
    start: AwareDatetime
    end: AwareDatetime


class BacktestSignalPublic(Model):
    at: datetime
    site_id: str
    subject: str
    state: Literal["firing", "clear"]
    value: float | None
    metric: str | None
    summary: str


class BacktestResult(Model):
    rule_id: str
    start: datetime
    end: datetime
    signals: list[BacktestSignalPublic]
