"""Seams to packages the API may not import: the rules engine's validation and backtests.

A definition crosses the seam as the store's `RuleRecord`, the row of the `rules` table: the
one shape a rule definition has between the API, the store and the rules engine.

`courtyard` wires an implementation from `rules` into `create_app(..., rule_service=...)`;
tests pass their own. Methods are synchronous and may be slow (a backtest reads history):
the API calls them on a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from store.rules.rule_defs import RuleRecord


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with a definition. `field` is a dotted path into it: `params.above`,
    `scope.metric`, `notify.escalate_after_s`, `kind`. The API answers 422 naming `body.<field>`."""

    field: str
    message: str


@dataclass(frozen=True, slots=True)
class BacktestSignal:
    """A signal the rule would have emitted over past data."""

    at: datetime
    site_id: str
    subject: str
    state: Literal["firing", "clear"]
    value: float | None
    metric: str | None
    #: English text (the rendered summary template).
    summary: str


class RuleService(Protocol):
    def validate(self, definition: RuleRecord) -> list[FieldError]:
        """Every problem with the definition (unknown kind, bad params...); empty when valid."""
        ...

    def backtest(
        self, definition: RuleRecord, start: datetime, end: datetime
    ) -> list[BacktestSignal]:
        """Run the rule over the stored readings and events of [start, end), in event-time
        order, from a fresh state; return its signals oldest first. Raises ValueError with a
        message for people when the definition cannot be run (it should have been validated)."""
        ...

    def event_types_used(self, definition: RuleRecord) -> frozenset[str] | None:
        """The event types the rule acts on for what they mean (an emergency rule its kinds,
        a door rule its door events); None: every type. Fast (no database)."""
        ...
