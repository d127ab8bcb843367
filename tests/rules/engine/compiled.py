"""A compiled-rule stand-in for engine tests: a catalogue rule with the engine's attributes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rules.arrays import BatchView
from rules.catalog.thresholds import ThresholdParams, ThresholdRule
from rules.policy import NotifyPolicy
from rules.rule import RuleState, Signal


@dataclass(frozen=True)
class Compiled:
    rule: Any
    auto_resolve: bool = True
    notify: NotifyPolicy = field(default_factory=NotifyPolicy)

    @property
    def id(self) -> str:
        return str(self.rule.id)

    def evaluate(
        self, view: BatchView, state: RuleState[Any], now: datetime
    ) -> tuple[list[Signal], RuleState[Any]]:
        return self.rule.evaluate(view, state, now)  # type: ignore[no-any-return]

    def load_state(self, raw: dict[str, object]) -> RuleState[Any]:
        return self.rule.load_state(raw)  # type: ignore[no-any-return]


HIGH_CURRENT = Compiled(
    ThresholdRule("pump-current-high", ThresholdParams("current_a", ">", 12.0, hold_s=60))
)
