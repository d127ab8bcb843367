"""Device offline: silent for longer than its own reporting rhythm allows, or `status` offline.

Each device learns how long it normally stays silent. Every gap between two of its messages
(any reading or event) goes into a histogram of gap lengths (quarter-octave bins, decayed over
`memory_days`) weighted by the gap's length, so the histogram says how much of the device's
*time* is spent in gaps of each length. The device's interval is the `quantile` of that time;
it may be silent for `factor` times that, and never less than `floor_s`.

Weighting by time is what makes sleeping devices work. A Zigbee PIR sends a burst of motions
by day and only its 50-minute heartbeat by night: counted per gap, its typical gap is a minute
and the first quiet night would flag it; counted per second of silence, most of its time is
spent in heartbeat gaps, and it is flagged only when a few heartbeats are missed. Event-only
devices (a kettle plug, a door that reports only when used) learn their long quiet hours the
same way. Until `min_gaps` gaps and `min_learned_s` of silence are learned a device gets
`unlearned_timeout_s`; a device never seen (or seen only through its `status`, as a gateway's
last will is) is never flagged for silence; `kind_timeouts_s` fixes the timeout per device kind
(None: such devices are flagged by their `status` only). A long batch (a backtest) is learned
in order, so an outage late in it is judged by what came before it.

A `status` offline (a last will) fires at once. Any message from the device afterwards, or a
`status` online, clears. A gap that fired is not learned: an outage must not teach the device
that outages are normal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated

import numpy as np
import numpy.typing as npt
from pydantic import Field
from pydantic.dataclasses import dataclass as pydantic_dataclass

from i18n.languages import N_
from rules.arrays import BatchView, FloatArray, at_time, epoch_s, state_key
from rules.directory import Directory
from rules.kind import PARAMS_CONFIG, CatalogRule, Kind, param
from rules.rule import (
    Category,
    RuleState,
    Severity,
    Signal,
    SignalState,
    StoredState,
)
from store.records import StatusChange

SILENT = N_("{device} has sent nothing for {minutes} min (it usually reports within {usual} min)")
OFFLINE = N_("{device} went offline")
BACK = N_("{device} is reporting again")

#: Quarter-octave bins of gap length from 1 s to 2^22 s (48 days).
BINS_PER_OCTAVE = 4
N_BINS = 22 * BINS_PER_OCTAVE


def gap_bins(gaps: FloatArray) -> npt.NDArray[np.int64]:
    """The histogram bin of each gap length."""
    octaves: FloatArray = np.floor(np.log2(np.maximum(gaps, 1.0)) * BINS_PER_OCTAVE)
    return np.clip(octaves, 0, N_BINS - 1).astype(np.int64)


def usual_interval_s(hist: tuple[float, ...], quantile: float) -> float:
    """The gap length below which `quantile` of the device's silent time lies (a bin's top)."""
    cum = np.cumsum(np.asarray(hist, dtype=np.float64))
    if not cum.size or cum[-1] <= 0:
        return math.nan
    index = min(int(np.searchsorted(cum, quantile * cum[-1])), N_BINS - 1)
    return float(2.0 ** ((index + 1) / BINS_PER_OCTAVE))


@pydantic_dataclass(frozen=True, slots=True, config=PARAMS_CONFIG)
class OfflineParams:
    factor: float = param(
        3.0, ge=1, description="A device is offline after `factor` × its usual interval."
    )
    #: Of the device's time spent between messages, weighted by gap length.
    quantile: float = param(
        0.95,
        gt=0,
        le=1,
        description="The usual interval is the gap length below which this share of the "
        "device's silent time lies.",
    )
    floor_s: float = param(
        300.0, gt=0, unit="s", description="The shortest timeout, however chatty the device."
    )
    #: Until a device has this many gaps and this much silent time learned, it gets
    #: `unlearned_timeout_s`: a day shows a sleeping sensor's nights, two its quiet days too.
    min_gaps: float = param(
        5.0, ge=0, description="Gaps a device must have shown before its own interval is used."
    )
    min_learned_s: float = param(
        2 * 86_400.0,
        ge=0,
        unit="s",
        description="Silent time a device must have shown before its own interval is used "
        "(a day shows a sleeping sensor's nights, two its quiet days too).",
    )
    unlearned_timeout_s: float = param(
        48 * 3600.0,
        gt=0,
        unit="s",
        description="The timeout of a device whose interval is not learned yet.",
    )
    #: A fixed timeout per device kind; None: devices of that kind never time out.
    kind_timeouts_s: Mapping[str, Annotated[float, Field(gt=0)] | None] = param(
        default_factory=dict,
        unit="s",
        description="A fixed timeout per device kind, e.g. `{lift: 600}`; null: devices of "
        "that kind never time out.",
    )
    memory_days: float = param(
        7.0, gt=0, unit="days", description="Time constant of forgetting the learned intervals."
    )
    severity: Severity = Severity.WARNING
    category: Category = Category.MAINTENANCE


@dataclass(frozen=True, slots=True)
class DeviceState(StoredState):
    #: The newest message (or `status` online) seen.
    last_seen: float | None = None
    #: The newest `status` message applied; older ones are late.
    status_at: float | None = None
    #: Seconds of silence per gap-length bin (empty: nothing learned), and how many gaps.
    hist: tuple[float, ...] = ()
    gaps: float = 0.0
    decayed_at: float | None = None
    #: When the current silence times out (None: never).
    due: float | None = None
    firing: bool = False


#: (time, firing|clear, summary template, summary arguments)
_Change = tuple[float, SignalState, str, dict[str, str | float]]


@dataclass(frozen=True, slots=True)
class OfflineRule(CatalogRule[OfflineParams, DeviceState]):
    State = DeviceState
    directory: Directory

    def timeout_s(self, site: str, device: str, state: DeviceState) -> float | None:
        """How long this device may stay silent."""
        hist = np.asarray(state.hist, dtype=np.float64) if state.hist else np.zeros(N_BINS)
        return self._timeout(site, device, hist, state.gaps)

    def _timeout(self, site: str, device: str, hist: FloatArray, gaps: float) -> float | None:
        p = self.params
        kind = self.directory.kind_of(site, device)
        if kind is not None and kind in p.kind_timeouts_s:
            return p.kind_timeouts_s[kind]
        if gaps < p.min_gaps or float(hist.sum()) < p.min_learned_s:
            return p.unlearned_timeout_s
        return max(p.floor_s, p.factor * usual_interval_s(tuple(hist.tolist()), p.quantile))

    def _shortest_timeout(self, site: str, device: str) -> float:
        """No gap shorter than this can time out, whatever is learned."""
        p = self.params
        kind = self.directory.kind_of(site, device)
        if kind is not None and kind in p.kind_timeouts_s:
            fixed = p.kind_timeouts_s[kind]
            return math.inf if fixed is None else fixed
        return min(p.floor_s, p.unlearned_timeout_s)

    def evaluate(
        self, view: BatchView, state: RuleState[DeviceState], now: datetime
    ) -> tuple[list[Signal], RuleState[DeviceState]]:
        now_s = epoch_s(now)
        times = _message_times(view)
        statuses: dict[tuple[str, str], list[StatusChange]] = {}
        for st in view.statuses:
            statuses.setdefault((st.site, st.device), []).append(st)
        devices = set(times) | set(statuses)
        for key in state:  # a silence must time out on a timer tick
            old = state.get(key)
            if old is not None and not old.firing and old.due is not None and old.due <= now_s:
                site, device, _ = key.split("/")
                devices.add((site, device))
        signals: list[Signal] = []
        updates: dict[str, DeviceState] = {}
        for site, device in sorted(devices):
            key = state_key(site, device, "offline")
            old = state.get(key) or DeviceState()
            data = times.get((site, device), np.empty(0))
            new, out = self._step(site, device, old, data, statuses.get((site, device), []), now_s)
            if new != old:
                updates[key] = new
            signals += [self._signal(site, device, *change) for change in out]
        return signals, state.with_updates(updates)

    def _step(
        self,
        site: str,
        device: str,
        s: DeviceState,
        data: FloatArray,
        statuses: list[StatusChange],
        now_s: float,
    ) -> tuple[DeviceState, list[_Change]]:
        out: list[_Change] = []
        fresh = data if s.last_seen is None else data[data > s.last_seen]
        # Data between status changes is taken a stretch at a time (vectorised); the few
        # status changes in between step the state.
        cursor = 0
        for st in statuses:
            t = epoch_s(st.ts)
            if s.status_at is not None and t <= s.status_at:
                continue  # late
            upto = int(np.searchsorted(fresh, t, side="right"))
            s = self._data(site, device, s, fresh[cursor:upto], out)
            cursor = upto
            s = replace(s, status_at=t)
            if st.online:
                if s.firing:
                    out.append((t, SignalState.CLEAR, BACK, {"device": device}))
                # A device known only by its status (a gateway's last will) is judged by its
                # status alone: its silence starts no timer.
                last_seen = None if s.last_seen is None else max(s.last_seen, t)
                s = replace(s, last_seen=last_seen, firing=False)
            elif not s.firing:
                out.append((t, SignalState.FIRING, OFFLINE, {"device": device}))
                s = replace(s, firing=True)
        s = self._data(site, device, s, fresh[cursor:], out)
        if s.last_seen is not None:
            timeout = self.timeout_s(site, device, s)
            s = replace(s, due=None if timeout is None else s.last_seen + timeout)
        if not s.firing and s.due is not None and s.due <= now_s:
            assert s.last_seen is not None
            hist = np.asarray(s.hist, dtype=np.float64) if s.hist else np.zeros(N_BINS)
            out.append(self._silent(device, s.last_seen, s.due - s.last_seen, hist))
            s = replace(s, firing=True)
        return s, out

    def _data(
        self, site: str, device: str, s: DeviceState, t: FloatArray, out: list[_Change]
    ) -> DeviceState:
        """Messages at `t` (sorted, after `s.last_seen`): a gap that timed out fires and clears;
        the others are learned, in order, so a long backtest batch learns as it goes."""
        if t.size and s.last_seen is None:
            s, t = replace(s, last_seen=float(t[0]), decayed_at=float(t[0])), t[1:]
        if not t.size:
            return s
        assert s.last_seen is not None
        p = self.params
        end = float(t[-1])
        keep = math.exp(-(end - (s.decayed_at or end)) / (p.memory_days * 86_400.0))
        hist = (np.asarray(s.hist, dtype=np.float64) if s.hist else np.zeros(N_BINS)) * keep
        count = s.gaps * keep
        starts = np.concatenate(([s.last_seen], t[:-1]))
        gaps = t - starts
        # Only gaps longer than the shortest possible timeout need a decision; everything
        # between them is learned in one go.
        decide = np.flatnonzero(gaps > self._shortest_timeout(site, device)).tolist()
        if s.firing and (not decide or decide[0] != 0):
            decide.insert(0, 0)
        learned_to = 0
        for i in decide:
            np.add.at(hist, gap_bins(gaps[learned_to:i]), gaps[learned_to:i])
            count += i - learned_to
            learned_to = i + 1
            timeout = self._timeout(site, device, hist, count)
            if s.firing and i == 0:  # timed out on a tick, or a last will: this clears it
                out.append((float(t[0]), SignalState.CLEAR, BACK, {"device": device}))
            elif timeout is not None and gaps[i] > timeout:
                out.append(self._silent(device, float(starts[i]), timeout, hist))
                out.append((float(t[i]), SignalState.CLEAR, BACK, {"device": device}))
            else:
                learned_to = i
        np.add.at(hist, gap_bins(gaps[learned_to:]), gaps[learned_to:])
        count += gaps.size - learned_to
        return replace(
            s,
            last_seen=end,
            hist=tuple(hist.tolist()),
            gaps=count,
            decayed_at=end,
            firing=False,
        )

    def _silent(self, device: str, since: float, timeout: float, hist: FloatArray) -> _Change:
        """The firing of a silence that began at `since` and timed out."""
        usual = usual_interval_s(tuple(hist.tolist()), self.params.quantile)
        args: dict[str, str | float] = {
            "device": device,
            "minutes": round(timeout / 60.0, 1),
            "usual": round((timeout if math.isnan(usual) else usual) / 60.0, 1),
        }
        return since + timeout, SignalState.FIRING, SILENT, args

    def _signal(
        self,
        site: str,
        device: str,
        t: float,
        kind: SignalState,
        summary: str,
        args: dict[str, str | float],
    ) -> Signal:
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
            summary_key=summary,
            summary_args=args,
        )


def _message_times(view: BatchView) -> dict[tuple[str, str], FloatArray]:
    """Every device's message times in the view, sorted and unique."""
    parts: dict[tuple[str, str], list[FloatArray]] = {}
    for (site, device, _), series in view.series.items():
        parts.setdefault((site, device), []).append(series.ts)
    for (site, device, _), events in view.events.items():
        parts.setdefault((site, device), []).append(events.ts)
    return {k: np.unique(np.concatenate(v)) for k, v in parts.items()}


KIND = Kind("offline", OfflineParams, OfflineRule, timed=True)
