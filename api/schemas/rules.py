"""Rule definitions and backtests."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, Field

from api.schemas.alerts import Category, Severity
from api.schemas.common import Body, Identifier, Model


class RuleBody(Body):
    kind: Identifier = Field(description="Catalogue entry, e.g. `threshold`, `inactivity`.")
    site_id: Identifier | None = Field(default=None, description="Null: every site.")
    scope: dict[str, object] = Field(
        default_factory=dict, description="Which devices, metrics or households it watches."
    )
    params: dict[str, object] = Field(default_factory=dict)
    category: Category
    severity: Severity
    enabled: bool = True


class RulePublic(RuleBody):
    id: str
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
