"""sos, fall, smoke, leak, tamper events → immediate critical alerts.

Each kind arrives as an event (`sos`, `fall`, `smoke`, `water_leak`, `tamper`) or, from
Zigbee2MQTT devices, as a 0/1 reading of the same name, whose rising edge counts as the event.
Both paths feed one state per (device, kind), so a detector that sends both raises one signal.

Categories: sos and fall concern a person (care, to the household's volunteers); smoke and water
leak concern the building first (maintenance, to the managers and staff who can act on it);
tamper is security. Everything here is critical.

A repeat while the alarm is active and within `dedup_window_s` of the signal raised for it is the
same emergency (a button pressed twice, the event and reading of one detection) and raises
nothing; after the window a repeat raises again, and the engine counts it on the open alert.
Zigbee2MQTT's empty `action` reset after an SOS never reaches here: the decoder drops it.
Smoke, leak and tamper clear when the reading returns to 0 (or an event says `alarm: false`);
sos and fall never clear by themselves: a person has to look.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from pydantic import field_validator
from pydantic.dataclasses import dataclass as pydantic_dataclass

from i18n.languages import N_
from rules.arrays import BatchView, at_time, falling_edges, rising_edges, state_key
from rules.kind import PARAMS_CONFIG, CatalogRule, Inputs, alone, param
from rules.kind import Kind as RuleKind
from rules.rule import (
    Category,
    RuleState,
    Severity,
    Signal,
    SignalState,
    StoredState,
)


@dataclass(frozen=True, slots=True)
class Kind:
    category: Category
    auto_clear: bool
    raised: str
    cleared: str


KINDS: Mapping[str, Kind] = {
    "sos": Kind(Category.CARE, False, N_("SOS from {device}"), ""),
    "fall": Kind(Category.CARE, False, N_("Fall detected by {device}"), ""),
    "smoke": Kind(
        Category.MAINTENANCE,
        True,
        N_("Smoke detected by {device}"),
        N_("Smoke cleared at {device}"),
    ),
    "water_leak": Kind(
        Category.MAINTENANCE, True, N_("Water leak at {device}"), N_("Water leak over at {device}")
    ),
    "tamper": Kind(
        Category.SECURITY, True, N_("Tamper alarm on {device}"), N_("Tamper alarm over on {device}")
    ),
}


@pydantic_dataclass(frozen=True, slots=True, config=PARAMS_CONFIG)
class EmergencyParams:
    kinds: tuple[str, ...] = param(
        tuple(KINDS),
        description=f"The emergencies raised, of {', '.join(f'`{k}`' for k in KINDS)}.",
    )
    #: Long enough to cover a double press and a detector's event plus reading; short enough
    #: that a second press a few minutes later is seen as asking again.
    dedup_window_s: float = param(
        120.0,
        ge=0,
        unit="s",
        description="A repeat within this of the alarm's signal is the same emergency (a double "
        "press, a detector's event and reading); a later one raises again.",
    )

    @field_validator("kinds")
    @classmethod
    def _known(cls, kinds: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [k for k in kinds if k not in KINDS]
        if unknown:
            raise ValueError(f"unknown {unknown!r}; known: {sorted(KINDS)!r}")
        if not kinds:
            raise ValueError("must name at least one kind")
        return kinds


@dataclass(frozen=True, slots=True)
class EmergencyState(StoredState):
    active: bool = False
    last_raised: float | None = None
    #: The last 0/1 reading, so a rising edge across two batches is seen.
    last_value: float | None = None
    last_ts: float | None = None


@dataclass(frozen=True, slots=True)
class EmergencyRule(CatalogRule[EmergencyParams, EmergencyState]):
    State = EmergencyState
    params: EmergencyParams = EmergencyParams()

    def evaluate(
        self, view: BatchView, state: RuleState[EmergencyState], now: datetime
    ) -> tuple[list[Signal], RuleState[EmergencyState]]:
        signals: list[Signal] = []
        updates: dict[str, EmergencyState] = {}
        for site, device in view.devices():
            for kind in self.params.kinds:
                key = state_key(site, device, kind)
                old = state.get(key) or EmergencyState()
                new, raised = self._step(view, site, device, kind, old)
                if new != old:
                    updates[key] = new
                signals += [self._signal(site, device, kind, t, on) for t, on in raised]
        return signals, state.with_updates(updates)

    def _step(
        self, view: BatchView, site: str, device: str, kind: str, old: EmergencyState
    ) -> tuple[EmergencyState, list[tuple[float, bool]]]:
        changes: list[tuple[float, bool]] = []  # (time, alarm on?) in time order
        last_value, seen = old.last_value, [old.last_ts]
        events = view.events.get((site, device, kind))
        if events is not None:
            fresh = events.after(old.last_ts)
            changes += [
                (float(t), e.attrs.get("alarm") is not False)
                for t, e in zip(fresh.ts, fresh.events, strict=True)
            ]
            seen += fresh.ts.tolist()
        series = view.series.get((site, device, kind))
        if series is not None:
            fresh_s = series.after(old.last_ts)
            if len(fresh_s):
                v = fresh_s.values
                changes += [(float(t), True) for t in fresh_s.ts[rising_edges(v, last_value)]]
                changes += [(float(t), False) for t in fresh_s.ts[falling_edges(v, last_value)]]
                last_value = float(v[-1])
                seen.append(float(fresh_s.ts[-1]))
        changes.sort(key=lambda c: c[0])  # stable: on before off at one instant

        active, last_raised = old.active, old.last_raised
        out: list[tuple[float, bool]] = []
        auto_clear = KINDS[kind].auto_clear
        for t, on in changes:
            if on:
                repeat = (
                    active
                    and last_raised is not None
                    and t - last_raised < self.params.dedup_window_s
                )
                if not repeat:
                    active, last_raised = True, t
                    out.append((t, True))
            elif auto_clear and active:
                active = False
                out.append((t, False))
        last_ts = max((t for t in seen if t is not None), default=None)
        return EmergencyState(active, last_raised, last_value, last_ts), out

    def _signal(self, site: str, device: str, kind: str, t: float, on: bool) -> Signal:
        spec = KINDS[kind]
        return Signal(
            rule=self.id,
            subject=device,
            site=site,
            category=spec.category,
            severity=Severity.CRITICAL,
            state=SignalState.FIRING if on else SignalState.CLEAR,
            at=at_time(t),
            value=1.0 if on else 0.0,
            metric=kind,
            summary_key=spec.raised if on else spec.cleared,
            summary_args={"device": device},
        )


KIND = RuleKind(
    "emergency",
    EmergencyParams,
    alone(EmergencyRule),
    lambda p: Inputs(frozenset(p.kinds), frozenset(p.kinds)),
    never_resolves=frozenset(k for k, spec in KINDS.items() if not spec.auto_clear),
)
