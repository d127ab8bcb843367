"""Counters and bursts (pump starts per hour, access_denied bursts, elevator door cycles).

An occurrence is an event of type `name` (`source="event"`: access_denied, pump_start) or a 0→1
edge of the reading `name` (`source="edge"`: a pump's `running`, a door's `door_open`). The rule
fires when `count` occurrences fall within `window_s`, the window being half-open,
(t - window_s, t]: occurrences exactly `window_s` apart are not in one window. It clears when the
window has slid past the burst, at the instant the oldest of the last `count` leaves it: on the
next occurrence, or on a timer tick (an empty view with a later `now`).

Only the last `count` occurrence times are kept, which is all the test needs, so the state stays
bounded however busy the device.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic.dataclasses import dataclass as pydantic_dataclass

from i18n.languages import N_
from rules.arrays import BatchView, at_time, epoch_s, rising_edges, state_key
from rules.kind import NOTHING, PARAMS_CONFIG, CatalogRule, Inputs, Kind, alone, names, param
from rules.rule import (
    Category,
    RuleState,
    Severity,
    Signal,
    SignalState,
    StoredState,
)

BURST = N_("{count} × {name} on {device} within {minutes} min")
CALM = N_("{name} on {device} is back below {count} within {minutes} min")


@pydantic_dataclass(frozen=True, slots=True, config=PARAMS_CONFIG)
class UsageParams:
    source: Literal["event", "edge"] = param(
        description="`event`: occurrences are events of type `name`; `edge`: 0→1 edges of the "
        "reading `name`."
    )
    name: str = param(
        description="The event type (`pump_start`) or reading (`running`) counted.", min_length=1
    )
    count: int = param(ge=1, le=10_000, description="Occurrences within `window_s` that fire.")
    window_s: float = param(gt=0, unit="s", description="The sliding window occurrences count in.")
    severity: Severity = Severity.WARNING
    category: Category = Category.MAINTENANCE


@dataclass(frozen=True, slots=True)
class UsageState(StoredState):
    recent: tuple[float, ...] = ()
    firing: bool = False
    last_value: float | None = None
    last_ts: float | None = None


@dataclass(frozen=True, slots=True)
class UsageRule(CatalogRule[UsageParams, UsageState]):
    State = UsageState

    def evaluate(
        self, view: BatchView, state: RuleState[UsageState], now: datetime
    ) -> tuple[list[Signal], RuleState[UsageState]]:
        p, now_s = self.params, epoch_s(now)
        if p.source == "event":
            keys = {(e.site, e.device) for e in view.of_type(p.name)}
        else:
            keys = {(s.site, s.device) for s in view.of_metric(p.name)}
        for key in state:  # a burst must be able to end on a timer tick
            old = state.get(key)
            if old is not None and old.firing:
                site, device, _ = key.split("/")
                keys.add((site, device))
        signals: list[Signal] = []
        updates: dict[str, UsageState] = {}
        for site, device in sorted(keys):
            key = state_key(site, device, p.name)
            old = state.get(key) or UsageState()
            occurrences, last_value, last_ts = self._occurrences(view, site, device, old)
            recent, firing = old.recent, old.firing
            out: list[tuple[float, SignalState]] = []
            for t in [*occurrences, None]:  # None: the end of the batch, at `now`
                ends = recent[0] + p.window_s if firing else None
                if ends is not None and ends <= (now_s if t is None else t):
                    firing = False
                    out.append((ends, SignalState.CLEAR))
                if t is None:
                    break
                recent = (*recent, t)[-p.count :]
                if not firing and len(recent) == p.count and t - recent[0] < p.window_s:
                    firing = True
                    out.append((t, SignalState.FIRING))
            new = UsageState(recent, firing, last_value, last_ts)
            if new != old:
                updates[key] = new
            signals += [self._signal(site, device, t, kind) for t, kind in out]
        return signals, state.with_updates(updates)

    def _occurrences(
        self, view: BatchView, site: str, device: str, old: UsageState
    ) -> tuple[list[float], float | None, float | None]:
        p = self.params
        if p.source == "event":
            events = view.events.get((site, device, p.name))
            if events is None or not len(fresh_events := events.after(old.last_ts)):
                return [], old.last_value, old.last_ts
            return fresh_events.ts.tolist(), None, float(fresh_events.ts[-1])
        series = view.series.get((site, device, p.name))
        if series is None or not len(fresh := series.after(old.last_ts)):
            return [], old.last_value, old.last_ts
        edges = fresh.ts[rising_edges(fresh.values, old.last_value)]
        return edges.tolist(), float(fresh.values[-1]), float(fresh.ts[-1])

    def _signal(self, site: str, device: str, t: float, kind: SignalState) -> Signal:
        p = self.params
        return Signal(
            rule=self.id,
            subject=device,
            site=site,
            category=p.category,
            severity=p.severity,
            state=kind,
            at=at_time(t),
            value=float(p.count),
            metric=p.name,
            summary_key=BURST if kind is SignalState.FIRING else CALM,
            summary_args={
                "count": p.count,
                "name": p.name,
                "device": device,
                "minutes": round(p.window_s / 60, 1),
            },
        )


def _inputs(p: UsageParams) -> Inputs:
    if p.source == "event":
        return Inputs(NOTHING, names(p.name))
    return Inputs(names(p.name), NOTHING)


KIND = Kind("usage", UsageParams, alone(UsageRule), _inputs, timed=True)
