"""Door held open, and a front door opened during a household's quiet hours.

A door's state comes from a `door_open` 0/1 reading (Zigbee2MQTT contact sensors) or from
`door_open`/`door_closed` events, whichever the device sends; both feed one state per door.

Held open: the door is open from its first open observation until a close. Once it has been open
`hold_s` the rule fires, at `open_since + hold_s` (event time, not when we noticed): either a
later sample shows it (a close at or after that instant fires, then clears at the close), or the
engine's timer tick evaluates an empty view with `now` past it. A door closed exactly `hold_s`
after it opened counts as held, as thresholds count their hold.

Quiet hours: each opening (an event, or a 0→1 edge of the reading) of a household's *front door*
(role `front_door` in the `Directory`: a fridge, cupboard or bathroom door is someone up at
night, not someone leaving) whose local time in the household's IANA zone falls in [start, end)
fires; the window may wrap midnight. The signal
never clears: the opening is the whole story, and someone should check on the resident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Self
from zoneinfo import ZoneInfo

from pydantic import model_validator
from pydantic.dataclasses import dataclass as pydantic_dataclass

from i18n.languages import N_
from rules.arrays import BatchView, at_time, epoch_s, rising_edges, state_key
from rules.directory import Directory
from rules.kind import (
    PARAMS_CONFIG,
    CatalogRule,
    Evaluator,
    Inputs,
    Kind,
    Partitioned,
    TimeZone,
    alone,
    names,
    param,
)
from rules.rule import (
    Category,
    InvalidParams,
    RuleState,
    Severity,
    Signal,
    SignalState,
    StoredState,
)
from store.devices.catalogue import Role

HELD = N_("Door {device} has been open for more than {minutes} min")
CLOSED = N_("Door {device} is closed again")
AT_NIGHT = N_("Door {device} opened at {local_time} during quiet hours")


def _transitions(
    view: BatchView,
    site: str,
    device: str,
    metric: str,
    events: tuple[tuple[str, bool], ...],
    after: float | None,
    last_value: float | None,
    edges_only: bool,
) -> tuple[list[tuple[float, bool]], float | None, float | None]:
    """(time, open?) observations of one door later than `after`, in time order; the last
    reading's value; the newest timestamp looked at (`after` when nothing is new).

    `events` maps event types to open (True) or closed; with `edges_only`, readings contribute
    their 0→1 edges alone.
    """
    seen: list[tuple[float, bool]] = []
    stamps: list[float] = [] if after is None else [after]
    for type_, is_open in events:
        evs = view.events.get((site, device, type_))
        if evs is not None and len(fresh_evs := evs.after(after)):
            seen += [(float(t), is_open) for t in fresh_evs.ts]
            stamps.append(float(fresh_evs.ts[-1]))
    series = view.series.get((site, device, metric))
    if series is not None and len(fresh := series.after(after)):
        if edges_only:
            seen += [(float(t), True) for t in fresh.ts[rising_edges(fresh.values, last_value)]]
        else:
            seen += [(float(t), bool(v > 0.5)) for t, v in zip(fresh.ts, fresh.values, strict=True)]
        last_value = float(fresh.values[-1])
        stamps.append(float(fresh.ts[-1]))
    seen.sort(key=lambda s: s[0])
    return seen, last_value, max(stamps, default=None)


@dataclass(frozen=True, slots=True)
class DoorState(StoredState):
    open_since: float | None = None
    firing: bool = False
    last_value: float | None = None
    last_ts: float | None = None


@pydantic_dataclass(frozen=True, slots=True, config=PARAMS_CONFIG)
class DoorHeldParams:
    """A door (a 0/1 reading or open/close events) left open for longer than `hold_s`."""

    hold_s: float = param(300.0, gt=0, unit="s", description="How long a door may stay open.")
    metric: str = param("door_open", description="The 0/1 reading that says the door is open.")
    open_event: str = param("door_open", description="The event of the door opening.")
    close_event: str = param("door_closed", description="The event of the door closing.")
    severity: Severity = Severity.WARNING
    category: Category = Category.SECURITY


@dataclass(frozen=True, slots=True)
class DoorHeldRule(CatalogRule[DoorHeldParams, DoorState]):
    State = DoorState
    params: DoorHeldParams = DoorHeldParams()

    def evaluate(
        self, view: BatchView, state: RuleState[DoorState], now: datetime
    ) -> tuple[list[Signal], RuleState[DoorState]]:
        p, now_s = self.params, epoch_s(now)
        doors = set(view.devices())
        # Doors left open in an earlier batch must still reach their hold on a timer tick.
        for key in state:
            held = state.get(key)
            if held is not None and held.open_since is not None and not held.firing:
                site, device, _ = key.split("/")
                doors.add((site, device))
        signals: list[Signal] = []
        updates: dict[str, DoorState] = {}
        for site, device in sorted(doors):
            key = state_key(site, device, p.metric)
            old = state.get(key) or DoorState()
            seen, last_value, last_ts = _transitions(
                view,
                site,
                device,
                p.metric,
                ((p.open_event, True), (p.close_event, False)),
                old.last_ts,
                old.last_value,
                edges_only=False,
            )
            open_since, firing = old.open_since, old.firing
            out: list[tuple[float, SignalState]] = []
            for t, is_open in seen:
                if open_since is not None and not firing and t >= open_since + p.hold_s:
                    firing = True
                    out.append((open_since + p.hold_s, SignalState.FIRING))
                if is_open:
                    open_since = t if open_since is None else open_since
                elif open_since is not None:
                    if firing:
                        out.append((t, SignalState.CLEAR))
                    open_since, firing = None, False
            if open_since is not None and not firing and now_s >= open_since + p.hold_s:
                firing = True
                out.append((open_since + p.hold_s, SignalState.FIRING))
            new = DoorState(open_since, firing, last_value, last_ts)
            if new != old:
                updates[key] = new
            signals += [self._signal(site, device, t, kind) for t, kind in out]
        return signals, state.with_updates(updates)

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
            value=None,
            metric=None,
            summary_key=HELD if kind is SignalState.FIRING else CLOSED,
            summary_args={"device": device, "minutes": round(p.hold_s / 60, 1)},
        )


@dataclass(frozen=True, slots=True)
class OpeningState(StoredState):
    last_value: float | None = None
    last_fired: float | None = None
    last_ts: float | None = None


@pydantic_dataclass(frozen=True, slots=True, config=PARAMS_CONFIG)
class QuietHoursParams:
    #: The household's IANA zone, e.g. "Asia/Shanghai" (store.alerts.receivers gives the effective
    #: one).
    timezone: TimeZone
    start: time = time(22, 0)
    end: time = time(6, 0)
    #: Alerts are about the household when given (else the door device).
    household: str | None = None
    metric: str = "door_open"
    open_event: str = "door_open"
    #: One signal for an event and a reading of the same opening, or a door bounced open twice.
    min_interval_s: float = param(60.0, ge=0, unit="s", description="See NightActivityParams.")
    severity: Severity = Severity.WARNING
    category: Category = Category.CARE

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.start == self.end:
            raise InvalidParams("quiet_hours", [("end", "must differ from start")])
        return self

    def is_quiet(self, ts: float) -> bool:
        local = datetime.fromtimestamp(ts, ZoneInfo(self.timezone)).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


@pydantic_dataclass(frozen=True, slots=True, config=PARAMS_CONFIG)
class NightActivityParams:
    """A household's front door (role `front_door`; other doors are left alone) opened during
    its quiet hours, in its local time: the household's own quiet hours, else `start`-`end`;
    never clears by itself. (One `QuietHoursRule` per household.)"""

    start: time = param(
        time(22, 0),
        unit="local time",
        description="Start of the quiet hours of households that have none of their own.",
    )
    end: time = param(
        time(6, 0),
        unit="local time",
        description="End of the quiet hours of households that have none (not `start`).",
    )
    metric: str = param("door_open", description="The 0/1 reading that says the door is open.")
    open_event: str = param("door_open", description="The event of the door opening.")
    min_interval_s: float = param(
        60.0,
        ge=0,
        unit="s",
        description="Openings closer than this are one (an event and a reading of the same "
        "opening, a door bounced open twice).",
    )
    severity: Severity = Severity.WARNING
    category: Category = Category.CARE

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.start == self.end:
            raise InvalidParams("night_activity", [("end", "must differ from start")])
        return self

    def for_household(
        self, household: str, timezone: str, start: time | None, end: time | None
    ) -> QuietHoursParams:
        """The household's own quiet hours when it has them, else this window."""
        own = start is not None and end is not None and start != end
        return QuietHoursParams(
            timezone=timezone,
            start=start if own and start is not None else self.start,
            end=end if own and end is not None else self.end,
            household=household,
            metric=self.metric,
            open_event=self.open_event,
            min_interval_s=self.min_interval_s,
            severity=self.severity,
            category=self.category,
        )


@dataclass(frozen=True, slots=True)
class QuietHoursRule(CatalogRule[QuietHoursParams, OpeningState]):
    State = OpeningState

    def evaluate(
        self, view: BatchView, state: RuleState[OpeningState], now: datetime
    ) -> tuple[list[Signal], RuleState[OpeningState]]:
        p = self.params
        zone = ZoneInfo(p.timezone)
        signals: list[Signal] = []
        updates: dict[str, OpeningState] = {}
        for site, device in view.devices():
            key = state_key(site, device, p.metric)
            old = state.get(key) or OpeningState()
            seen, last_value, last_ts = _transitions(
                view,
                site,
                device,
                p.metric,
                ((p.open_event, True),),
                old.last_ts,
                old.last_value,
                edges_only=True,
            )
            last_fired = old.last_fired
            for t, _ in seen:
                if not p.is_quiet(t):
                    continue
                if last_fired is not None and t - last_fired < p.min_interval_s:
                    continue
                last_fired = t
                local = datetime.fromtimestamp(t, zone).strftime("%H:%M")
                signals.append(
                    Signal(
                        rule=self.id,
                        subject=p.household or device,
                        site=site,
                        category=p.category,
                        severity=p.severity,
                        state=SignalState.FIRING,
                        at=at_time(t),
                        value=None,
                        metric=None,
                        summary_key=AT_NIGHT,
                        summary_args={"device": device, "local_time": local},
                    )
                )
            new = OpeningState(last_value, last_fired, last_ts)
            if new != old:
                updates[key] = new
        return signals, state.with_updates(updates)


def _night_activity(rule_id: str, params: NightActivityParams, directory: Directory) -> Evaluator:
    """One quiet-hours rule per household in scope, in the household's zone and quiet hours,
    fed by its front doors alone."""
    households = dict(directory.households)

    def make(key: tuple[str, str]) -> Evaluator:
        h = households[key]
        return QuietHoursRule(
            rule_id, params.for_household(h.id, h.timezone, h.quiet_start, h.quiet_end)
        )

    def route(site: str, device: str) -> tuple[str, str] | None:
        if directory.role_of(site, device) != Role.FRONT_DOOR:
            return None
        household = directory.household_of(site, device)
        key = None if household is None else (site, household)
        return key if key in households else None

    return Partitioned(
        route=route,
        make=make,
        load=lambda raw: RuleState.from_json(OpeningState, raw),
        keys=sorted(households),
    )


DOOR_HELD = Kind(
    "door_held",
    DoorHeldParams,
    alone(DoorHeldRule),
    lambda p: Inputs(names(p.metric), names(p.open_event, p.close_event)),
    timed=True,
)
NIGHT_ACTIVITY = Kind(
    "night_activity",
    NightActivityParams,
    _night_activity,
    lambda p: Inputs(names(p.metric), names(p.open_event)),
)
