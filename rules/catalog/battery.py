"""Battery low: battery_pct below a threshold, with hysteresis so a cold night does not flap it.

A threshold rule with battery defaults and its own wording. Batteries recover only when changed,
so `clear_pct` sits well above `low_pct`: a reading that creeps back up with temperature stays
in the band and keeps the alert open, and a new battery (near 100 %) clears it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from rules.arrays import BatchView
from rules.catalog.hold import HoldState
from rules.catalog.thresholds import ThresholdParams, ThresholdRule
from rules.rule import Category, ParamCheck, RuleState, Severity, Signal, SignalState
from store.i18n import N_

LOW = N_("Battery of {device} is low ({value} %)")
REPLACED = N_("Battery of {device} is back to {value} %")


@dataclass(frozen=True, slots=True)
class BatteryParams:
    low_pct: float = 15.0
    clear_pct: float = 30.0
    #: Held so that one low reading under load (a radio transmission) does not raise it.
    hold_s: float = 3600.0
    metric: str = "battery_pct"
    severity: Severity = Severity.WARNING

    def __post_init__(self) -> None:
        check = ParamCheck("battery")
        check.require(
            0 < self.low_pct <= 100, "low_pct", f"must be in (0, 100], got {self.low_pct}"
        )
        check.require(
            self.low_pct <= self.clear_pct <= 100,
            "clear_pct",
            f"must be in [low_pct ({self.low_pct}), 100], got {self.clear_pct}",
        )
        check.non_negative(self.hold_s, "hold_s")
        check.require(bool(self.metric), "metric", "must not be empty")
        check.done()


@dataclass(frozen=True, slots=True)
class BatteryRule:
    id: str
    params: BatteryParams = BatteryParams()

    @property
    def _threshold(self) -> ThresholdRule:
        p = self.params
        return ThresholdRule(
            self.id,
            ThresholdParams(
                p.metric,
                "<",
                p.low_pct,
                clear_value=p.clear_pct,
                hold_s=p.hold_s,
                severity=p.severity,
                category=Category.MAINTENANCE,
            ),
        )

    def load_state(self, raw: Mapping[str, object]) -> RuleState[HoldState]:
        return RuleState.from_json(HoldState, raw)

    def evaluate(
        self, view: BatchView, state: RuleState[HoldState], now: datetime
    ) -> tuple[list[Signal], RuleState[HoldState]]:
        signals, new = self._threshold.evaluate(view, state, now)
        worded = [
            dataclasses.replace(
                s,
                summary_key=LOW if s.state is SignalState.FIRING else REPLACED,
                summary_args={"device": s.subject, "value": s.summary_args["value"]},
            )
            for s in signals
        ]
        return worded, new
