"""Care inactivity per household: a silence that is unusual for this home at this time of day.

Every sensor of a household (the `Directory` says which, and the role each plays) feeds one
timeline of *moments* (`moments.py`): activity, the front door, lying or sitting down on a bed
or seat sensor. Only the front door (role `front_door`) can start *away*; other doors (fridge,
cupboard, bathroom), motion and appliances are activity; only a bed or seat sensor (role `bed`
or `seat`, or a `bed_occupied` / `seat_occupied` event) starts *rest*. Heartbeats, batteries and
SOS presses are none of these. The gap after a moment is a silence, in one of three modes set
by that moment: *home* after activity, *rest* after lying or sitting down, *away* after the
front door (it was used and nothing moved inside since: the resident went out).

A silence at home or at rest becomes alarming when, under the household's learned routine
(`routine.py`, one hazard table per mode), the chance of it lasting this long falls below
`p_alert`. A night in bed accumulates little, so a normal night never fires; the same stillness
carried into a morning when this resident is always up does (no wake-up), and motion stopping
mid-morning outside the bed does too (a fall). Two caps stand beside the model: `max_silence_s`
of silence counted over daytime hours (07:00-21:00 local by default: the prior's day, so a night
is never counted), and `max_rest_s` of silence in total, in bed or not. No silence fires before
`min_silence_s`. Away, only `away_max_s` fires.

The alert fires at the instant the silence became alarming (event time: the timer tick that
notices it does not move it) and clears at the next moment. A silence that fired is learned as
censored at that instant, so an incident does not teach the routine that it was normal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from typing import Final, Literal, Self
from zoneinfo import ZoneInfo

import numpy as np
from pydantic import model_validator
from pydantic.dataclasses import dataclass as pydantic_dataclass

from i18n.languages import N_
from rules.arrays import BatchView, FloatArray, at_time, epoch_s, state_key
from rules.catalog.moments import (
    ACT,
    DOOR,
    LIE,
    HouseholdRoles,
    Sources,
    collect,
    household_sources,
)
from rules.catalog.routine import Routine, first_crossing, prior_rates
from rules.directory import Directory, HouseholdInfo
from rules.kind import PARAMS_CONFIG, CatalogRule, Kind, param
from rules.rule import (
    Category,
    InvalidParams,
    RuleState,
    Severity,
    Signal,
    SignalState,
    StoredState,
)

SILENT = N_("No activity at {household} for {hours} h, unusual for this time of day")
STILL = N_("No movement at {household} for {hours} h since lying or sitting down")
AWAY = N_("{household} has been away for {hours} h since the front door was last used")
RESUMED = N_("Activity at {household} again")

Mode = Literal["home", "rest", "away"]
HOME: Final = "home"
REST: Final = "rest"
AWAY_MODE: Final = "away"
_MODE_OF: dict[int, Mode] = {ACT: HOME, DOOR: AWAY_MODE, LIE: REST}


def _default_levels() -> dict[str, float]:
    # Native kits report flow_lpm, Zigbee2MQTT flow sensors `flow`; a kettle draws ~2 kW, a
    # plug's standby a few watts.
    return {"flow_lpm": 0.5, "flow": 0.5, "power_w": 20.0}


@pydantic_dataclass(frozen=True, slots=True, config=PARAMS_CONFIG)
class InactivityParams:
    #: Alert when the learned chance of a silence lasting this long falls below this.
    p_alert: float = param(
        1e-3,
        gt=0,
        lt=1,
        description="Alert when the learned chance of the silence lasting this long falls "
        "below this.",
    )
    min_silence_s: float = param(
        1800.0,
        unit="s",
        description="No silence shorter than this alerts (at least `grace_s`).",
    )
    #: Silence while home, counted over daytime hours only, that always alerts.
    max_silence_s: float = param(
        6 * 3600.0,
        unit="s",
        description="Silence at home, counted over daytime hours only, that always alerts "
        "(more than `min_silence_s`).",
    )
    #: Silence in total (in bed or not) that always alerts.
    max_rest_s: float = param(
        14 * 3600.0,
        unit="s",
        description="Silence in total, in bed or not, that always alerts (more than "
        "`min_silence_s`).",
    )
    #: Out of the door and not back (no motion inside) for this long alerts.
    away_max_s: float = param(
        72 * 3600.0,
        unit="s",
        description="Out of the door and not back (no motion inside) for this long alerts "
        "(more than `min_silence_s`).",
    )
    #: Gaps shorter than this are the texture of activity; the routine learns the rest.
    grace_s: float = param(
        900.0,
        gt=0,
        unit="s",
        description="Gaps shorter than this are the texture of activity; the routine learns "
        "the rest.",
    )
    #: Time constant of the routine's exponential forgetting.
    memory_days: float = param(
        21.0, gt=0, unit="days", description="Time constant of forgetting the learned routine."
    )
    #: The prior's day in local time ("people are active 07:00-21:00"), and the daytime over
    #: which `max_silence_s` counts; whole hours (minutes are ignored).
    day_start: time = param(
        time(7, 0),
        unit="local time",
        description='Start of the day of the prior ("people are active 07:00-21:00") and of '
        "the daytime `max_silence_s` counts over; whole hours.",
    )
    day_end: time = param(
        time(21, 0), unit="local time", description="End of that day (not `day_start`)."
    )
    #: Prior hazards (silences ending per hour of silence past the grace period).
    prior_home_day_per_h: float = param(
        3.0,
        gt=0,
        unit="1/h",
        description="Prior: silences at home by day ending per hour of silence past `grace_s`.",
    )
    prior_home_night_per_h: float = param(
        0.3, gt=0, unit="1/h", description="Prior: the same at home by night."
    )
    prior_rest_day_per_h: float = param(
        2.0, gt=0, unit="1/h", description="Prior: the same in bed or a chair by day."
    )
    prior_rest_night_per_h: float = param(
        0.15, gt=0, unit="1/h", description="Prior: the same in bed or a chair by night."
    )
    #: How many hours of silence per hour bucket the prior weighs, against what is learned.
    prior_weight_h: float = param(
        4.0,
        gt=0,
        unit="h",
        description="Hours of silence per hour of the day the prior weighs against what is "
        "learned.",
    )
    activity_events: tuple[str, ...] = param(
        (
            "motion",
            "door_open",
            "door_closed",
            "button",
            "appliance_on",
            "appliance_off",
            "bed_vacant",
            "seat_vacant",
        ),
        description="Events that mean someone is active (getting up from a bed or seat too).",
    )
    door_events: tuple[str, ...] = param(
        ("door_open", "door_closed"),
        description="Door events: the front door's (role `front_door`) can mean going out, "
        "any other door's are activity.",
    )
    rest_events: tuple[str, ...] = param(
        ("bed_occupied", "seat_occupied"),
        description="Events that mean lying or sitting down (as does the occupancy of a device "
        "whose role is `bed` or `seat`).",
    )
    door_metric: str = param(
        "door_open",
        description="A door's 0/1 reading: its changes are the front door's comings and goings, "
        "or another door's activity.",
    )
    occupancy_metric: str = param("occupancy", description="A presence sensor's 0/1 reading.")
    #: Readings that mean someone is doing something when above their level.
    activity_levels: Mapping[str, float] = param(
        default_factory=_default_levels,
        unit="metric unit",
        description="Readings that mean someone is doing something when above their level "
        "(water flow, a kettle's power).",
    )
    severity: Severity = Severity.CRITICAL
    category: Category = Category.CARE

    @model_validator(mode="after")
    def _order(self) -> Self:
        errors = []
        if self.min_silence_s < self.grace_s:
            errors.append(
                (
                    "min_silence_s",
                    f"must be >= grace_s ({self.grace_s}), got {self.min_silence_s}",
                )
            )
        for name in ("max_silence_s", "max_rest_s", "away_max_s"):
            value = getattr(self, name)
            if value <= self.min_silence_s:
                errors.append(
                    (name, f"must be > min_silence_s ({self.min_silence_s}), got {value}")
                )
        if self.day_start == self.day_end:
            errors.append(("day_end", "must differ from day_start"))
        if errors:
            raise InvalidParams("inactivity", errors)
        return self

    @property
    def threshold(self) -> float:
        """Λ at which the chance of the silence, exp(-Λ), reaches `p_alert`."""
        return -math.log(self.p_alert)

    def priors(self) -> dict[str, FloatArray]:
        start, end = self.day_start.hour, self.day_end.hour
        return {
            HOME: prior_rates(self.prior_home_day_per_h, self.prior_home_night_per_h, start, end),
            REST: prior_rates(self.prior_rest_day_per_h, self.prior_rest_night_per_h, start, end),
        }

    def daytime(self) -> FloatArray:
        return prior_rates(1.0, 0.0, self.day_start.hour, self.day_end.hour)


@dataclass(frozen=True, slots=True)
class HouseholdState(StoredState):
    #: The newest sample looked at; anything at or before it is late and skipped.
    last_ts: float | None = None
    #: The last moment: the start of the current silence, and what kind of silence it is.
    since: float | None = None
    mode: Mode = HOME
    rest_device: str | None = None
    #: When the current silence becomes alarming (None: not within `max_rest_s`).
    due: float | None = None
    firing: bool = False
    fired_at: float | None = None
    #: Last `door_open` value per door device, so that a heartbeat repeating it is no moment.
    doors: Mapping[str, float] = field(default_factory=dict)
    home: Routine = Routine()
    rest: Routine = Routine()


@dataclass(frozen=True, slots=True)
class InactivityRule(CatalogRule[InactivityParams, HouseholdState]):
    State = HouseholdState
    directory: Directory
    _roles: HouseholdRoles = field(init=False, repr=False, compare=False)
    _priors: Mapping[str, FloatArray] = field(init=False, repr=False, compare=False)
    _daytime: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        p = self.params
        object.__setattr__(self, "_roles", HouseholdRoles.of(self.directory))
        object.__setattr__(self, "_priors", p.priors())
        object.__setattr__(self, "_daytime", p.daytime())

    def evaluate(
        self, view: BatchView, state: RuleState[HouseholdState], now: datetime
    ) -> tuple[list[Signal], RuleState[HouseholdState]]:
        now_s = epoch_s(now)
        sources = household_sources(view, self.directory)
        # A silence must be able to become alarming on a timer tick, without new data.
        for key in state:
            old = state.get(key)
            if old is not None and self._may_fire(old, now_s):
                site, household, _ = key.split("/")
                sources.setdefault((site, household), {})
        signals: list[Signal] = []
        updates: dict[str, HouseholdState] = {}
        for (site, household), devices in sorted(sources.items()):
            info = self.directory.households.get((site, household))
            if info is None:
                continue
            key = state_key(site, household, "inactivity")
            old = state.get(key) or HouseholdState()
            new, out = self._step(info, devices, old, now_s)
            if new != old:
                updates[key] = new
            signals += out
        return signals, state.with_updates(updates)

    def _may_fire(self, state: HouseholdState, now_s: float) -> bool:
        if state.firing or state.since is None:
            return False
        if state.due is not None:
            return state.due <= now_s
        return now_s - state.since >= self.params.min_silence_s

    def _step(
        self, info: HouseholdInfo, sources: Sources, old: HouseholdState, now_s: float
    ) -> tuple[HouseholdState, list[Signal]]:
        p = self.params
        zone = ZoneInfo(info.timezone)
        resting_on = old.rest_device if old.mode == REST else None
        moments = collect(p, info.site, sources, self._roles, old.last_ts, old.doors, resting_on)
        state = replace(old, doors=moments.doors, last_ts=moments.newest)
        out: list[_Change] = []
        ts, kinds, devices = moments.ts, moments.kind, moments.device
        first = 0
        if state.since is None and ts.size:
            state, first = _enter(state, float(ts[0]), int(kinds[0]), devices[0]), 1
        if ts.size > first:
            since = state.since if state.since is not None else float(ts[0])
            starts = np.concatenate(([since], ts[first:-1]))
            long = np.flatnonzero(ts[first:] - starts > p.grace_s)
            if state.firing:
                long = np.union1d([0], long)
            for i in long.tolist():
                j = first + i  # the moment that ends this silence
                if i > 0:
                    state = _enter(state, float(ts[j - 1]), int(kinds[j - 1]), devices[j - 1])
                state, ended = self._end_silence(state, float(ts[j]), zone)
                out += ended
            last = ts.size - 1
            state = _enter(state, float(ts[last]), int(kinds[last]), devices[last])
        if self._may_fire(state, now_s):
            state = replace(state, due=self._due(state, zone))
            if self._may_fire(state, now_s):
                state = replace(state, firing=True, fired_at=state.due)
                out.append(self._firing(state))
        return state, [self._signal(info, *change) for change in out]

    def _due(self, state: HouseholdState, zone: ZoneInfo) -> float:
        """When the current silence becomes alarming."""
        p = self.params
        since = state.since
        assert since is not None
        if state.mode == AWAY_MODE:
            return since + p.away_max_s
        routine = state.rest if state.mode == REST else state.home
        rates = routine.rates(self._priors[state.mode], p.prior_weight_h)
        crossing = first_crossing(
            since, rates, p.grace_s, p.threshold, self._daytime, p.max_silence_s, p.max_rest_s, zone
        )
        cap = since + p.max_rest_s
        return max(cap if crossing is None else min(crossing, cap), since + p.min_silence_s)

    def _end_silence(
        self, state: HouseholdState, end: float, zone: ZoneInfo
    ) -> tuple[HouseholdState, list[_Change]]:
        """A moment at `end` ends the current silence: signals, then what the routine learns."""
        p = self.params
        since = state.since
        assert since is not None
        out: list[_Change] = []
        fired_at = state.fired_at if state.firing else None
        if fired_at is None and end - since >= p.min_silence_s:
            due = state.due if state.due is not None else self._due(state, zone)
            if due <= end:
                state = replace(state, due=due)
                fired_at = due
                out.append(self._firing(state))
        if fired_at is not None:
            out.append((max(end, fired_at), SignalState.CLEAR, (end - since) / 3600.0, RESUMED))
        stop = end if fired_at is None else min(end, fired_at)
        if state.mode != AWAY_MODE and stop > since + p.grace_s:
            memory_s = p.memory_days * 86_400.0
            if state.mode == REST:
                learned = state.rest.learn(
                    since + p.grace_s, stop, fired_at is None, zone, memory_s
                )
                state = replace(state, rest=learned)
            else:
                learned = state.home.learn(
                    since + p.grace_s, stop, fired_at is None, zone, memory_s
                )
                state = replace(state, home=learned)
        return replace(state, firing=False, fired_at=None), out

    def _firing(self, state: HouseholdState) -> _Change:
        assert state.due is not None and state.since is not None
        summary = {HOME: SILENT, REST: STILL, AWAY_MODE: AWAY}[state.mode]
        return state.due, SignalState.FIRING, (state.due - state.since) / 3600.0, summary

    def _signal(
        self, info: HouseholdInfo, t: float, kind: SignalState, hours: float, summary: str
    ) -> Signal:
        p = self.params
        return Signal(
            rule=self.id,
            subject=info.id,
            site=info.site,
            category=p.category,
            severity=p.severity,
            state=kind,
            at=at_time(t),
            value=round(hours, 2),
            metric=None,
            summary_key=summary,
            summary_args={"household": info.label or info.id, "hours": round(hours, 1)},
        )


#: (time, firing|clear, hours of silence, summary template)
_Change = tuple[float, SignalState, float, str]


def _enter(state: HouseholdState, t: float, kind: int, device: str) -> HouseholdState:
    """The silence that follows a moment of `kind` at `t`; when it becomes alarming is worked
    out once it is old enough to matter."""
    mode = _MODE_OF[kind]
    return replace(
        state, since=t, mode=mode, rest_device=device if mode == REST else None, due=None
    )


KIND = Kind("inactivity", InactivityParams, InactivityRule, timed=True)
