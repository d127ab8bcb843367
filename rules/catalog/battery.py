"""Battery low: battery_pct below a threshold, with hysteresis so a cold night does not flap it.

A threshold rule with battery defaults and its own wording. Batteries recover only when changed,
so `clear_pct` sits well above `low_pct`: a reading that creeps back up with temperature stays
in the band and keeps the alert open, and a new battery (near 100 %) clears it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Self

from pydantic import model_validator
from pydantic.dataclasses import dataclass as pydantic_dataclass

from i18n.languages import N_
from rules.arrays import BatchView
from rules.catalog.hold import HoldState
from rules.catalog.thresholds import ThresholdParams, ThresholdRule
from rules.kind import NOTHING, PARAMS_CONFIG, CatalogRule, Inputs, Kind, alone, names, param
from rules.rule import Category, InvalidParams, RuleState, Severity, Signal, SignalState

LOW = N_("Battery of {device} is low ({value} %)")
REPLACED = N_("Battery of {device} is back to {value} %")


@pydantic_dataclass(frozen=True, slots=True, config=PARAMS_CONFIG)
class BatteryParams:
    low_pct: float = param(
        15.0, gt=0, le=100, unit="%", description="Battery level below which it fires."
    )
    clear_pct: float = param(
        30.0,
        le=100,
        unit="%",
        description="Level (at least `low_pct`) at or above which it clears: well above "
        "`low_pct`, since only a new battery comes back.",
    )
    #: Held so that one low reading under load (a radio transmission) does not raise it.
    hold_s: float = param(
        3600.0,
        ge=0,
        unit="s",
        description="How long the level must stay low, so that one low reading under load "
        "(a radio transmission) does not raise it.",
    )
    metric: str = param("battery_pct", min_length=1, description="The battery level reading.")
    severity: Severity = Severity.WARNING

    @model_validator(mode="after")
    def _band(self) -> Self:
        if self.clear_pct < self.low_pct:
            message = f"must be in [low_pct ({self.low_pct}), 100], got {self.clear_pct}"
            raise InvalidParams("battery", [("clear_pct", message)])
        return self


@dataclass(frozen=True, slots=True)
class BatteryRule(CatalogRule[BatteryParams, HoldState]):
    State = HoldState
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


KIND = Kind(
    "battery", BatteryParams, alone(BatteryRule), lambda p: Inputs(names(p.metric), NOTHING)
)
