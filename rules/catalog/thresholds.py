"""Level/pressure/temperature thresholds with hysteresis and a hold duration.

`op=">"` fires on samples strictly above `value` ("above X"); a sample exactly at `value` does
not breach. The alert clears on samples at or below `clear_value` (at or above it for `"<"`),
held for `clear_hold_s` (0 by default: the firing hold and the hysteresis band already absorb
noise, and a slow clear only delays good news). `clear_value` defaults to `value`: no band.

Every sample is evaluated in order, not only the newest, so a spike shorter than `hold_s` never
fires, whatever the batch boundaries. One state per series: the rule fires per metric.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Self

import numpy as np
from pydantic import model_validator
from pydantic.dataclasses import dataclass as pydantic_dataclass

from i18n.languages import N_
from rules.arrays import BatchView, BoolArray, FloatArray, at_time
from rules.catalog.hold import HoldState, run_hold
from rules.kind import NOTHING, PARAMS_CONFIG, CatalogRule, Inputs, Kind, alone, names, param
from rules.rule import Category, InvalidParams, RuleState, Severity, Signal, SignalState

ABOVE = N_("{metric} on {device} is above {limit} ({value})")
BELOW = N_("{metric} on {device} is below {limit} ({value})")
BACK = N_("{metric} on {device} is back to normal ({value})")


@pydantic_dataclass(frozen=True, slots=True, config=PARAMS_CONFIG)
class ThresholdParams:
    metric: str = param(description="The metric watched, e.g. `pressure_bar`.", min_length=1)
    op: Literal[">", "<"] = param(
        description="`>` fires on samples strictly above `value`, `<` strictly below it."
    )
    value: float = param(unit="metric unit", description="The limit.")
    clear_value: float | None = param(
        None,
        unit="metric unit",
        description="Where the alert clears: at or below it for `>`, at "
        "or above it for `<` (a hysteresis band). Default: `value`, no band.",
    )
    hold_s: float = param(
        0.0, unit="s", ge=0, description="How long the limit must be breached before it fires."
    )
    clear_hold_s: float = param(
        0.0, unit="s", ge=0, description="How long the metric must be back before it clears."
    )
    severity: Severity = Severity.WARNING
    category: Category = Category.MAINTENANCE
    #: A 0/1 reading of the same device (a pump's `running`, a street light's `on`): samples
    #: are judged only while its latest value in the batch at or before them is above 0.5.
    #: The others neither breach nor recover, so a dead lamp stays alerted through the day.
    only_when: str | None = param(
        None,
        min_length=1,
        description="A 0/1 reading of the same device (a pump's `running`): samples count only "
        "while it is on. Default: always.",
    )

    @model_validator(mode="after")
    def _band(self) -> Self:
        clear = self.clear_value
        if clear is not None and (clear > self.value if self.op == ">" else clear < self.value):
            side = "<=" if self.op == ">" else ">="
            raise InvalidParams(
                "threshold",
                [
                    (
                        "clear_value",
                        f"must be {side} value ({self.value}) for op '{self.op}', got {clear}",
                    )
                ],
            )
        return self

    @property
    def clear_at(self) -> float:
        return self.value if self.clear_value is None else self.clear_value


def gate_open(view: BatchView, site: str, device: str, gate: str, ts: FloatArray) -> BoolArray:
    """For each time in `ts`: is the device's latest `gate` reading at or before it above 0.5?
    False where the view holds no such reading."""
    series = view.series.get((site, device, gate))
    if series is None or not len(series):
        return np.zeros(ts.size, dtype=bool)
    i = np.searchsorted(series.ts, ts, side="right") - 1
    return (i >= 0) & (series.values[np.maximum(i, 0)] > 0.5)


@dataclass(frozen=True, slots=True)
class ThresholdRule(CatalogRule[ThresholdParams, HoldState]):
    State = HoldState

    def evaluate(
        self, view: BatchView, state: RuleState[HoldState], now: datetime
    ) -> tuple[list[Signal], RuleState[HoldState]]:
        p = self.params
        signals: list[Signal] = []
        updates: dict[str, HoldState] = {}
        for series in view.of_metric(p.metric):
            old = state.get(series.key) or HoldState()
            fresh = series.after(old.last_ts)
            if not len(fresh):
                continue
            v = fresh.values
            if p.op == ">":
                breach, recovered = v > p.value, v <= p.clear_at
            else:
                breach, recovered = v < p.value, v >= p.clear_at
            if p.only_when is not None:
                on = gate_open(view, series.site, series.device, p.only_when, fresh.ts)
                breach, recovered = breach & on, recovered & on
            new, transitions = run_hold(old, fresh.ts, breach, recovered, p.hold_s, p.clear_hold_s)
            updates[series.key] = new
            for i, kind in transitions:
                value = float(v[i])
                if kind is SignalState.FIRING:
                    key, limit = (ABOVE if p.op == ">" else BELOW), p.value
                else:
                    key, limit = BACK, p.clear_at
                signals.append(
                    Signal(
                        rule=self.id,
                        subject=series.device,
                        site=series.site,
                        category=p.category,
                        severity=p.severity,
                        state=kind,
                        at=at_time(float(fresh.ts[i])),
                        value=value,
                        metric=series.metric,
                        summary_key=key,
                        summary_args={
                            "metric": series.metric,
                            "device": series.device,
                            "limit": limit,
                            "value": round(value, 3),
                        },
                    )
                )
        return signals, state.with_updates(updates)


KIND = Kind(
    "threshold",
    ThresholdParams,
    alone(ThresholdRule),
    lambda p: Inputs(names(p.metric, p.only_when), NOTHING),
)
