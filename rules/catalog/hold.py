"""The hold and hysteresis state machine shared by thresholds, anomaly and battery.

    inactive --breach--> pending --breach held hold_s--> firing
    firing --recovered--> recovering --recovered held clear_hold_s--> inactive (clear)

`breach` and `recovered` are separate masks so a hysteresis band (neither) keeps whatever state
the series is in: a pending hold stays pending only while samples breach, so a sample in the
band resets it, and a firing series in the band stays firing. A hold counts from the first
breaching sample to a later one: the condition has been seen for `t - pending_since` seconds,
and fires once that reaches `hold_s` (so `hold_s=0` fires on the first breaching sample).
"""

from __future__ import annotations

from dataclasses import dataclass

from rules.arrays import BoolArray, FloatArray
from rules.rule import SignalState, StoredState


@dataclass(frozen=True, slots=True)
class HoldState(StoredState):
    firing: bool = False
    pending_since: float | None = None
    recovering_since: float | None = None
    #: The newest sample already evaluated; later batches skip anything at or before it.
    last_ts: float | None = None


def run_hold(
    state: HoldState,
    ts: FloatArray,
    breach: BoolArray,
    recovered: BoolArray,
    hold_s: float,
    clear_hold_s: float = 0.0,
) -> tuple[HoldState, list[tuple[int, SignalState]]]:
    """Step through samples (already sorted and later than `state.last_ts`) in order.

    Returns the new state and the transitions as `(sample index, firing|clear)`.
    """
    firing, pending, recovering = state.firing, state.pending_since, state.recovering_since
    transitions: list[tuple[int, SignalState]] = []
    if ts.size and not (recovered if firing else breach).any():
        # Nothing in the batch can move the state (the usual case: no breach while inactive,
        # no recovery while firing); every sample then resets what it would reset in the loop.
        newest = float(ts[-1])
        if firing:
            return HoldState(True, pending, None, newest), transitions
        return HoldState(False, None, recovering, newest), transitions
    for i in range(ts.size):
        t = float(ts[i])
        if not firing:
            if not breach[i]:
                pending = None
                continue
            pending = t if pending is None else pending
            if t - pending >= hold_s:
                firing, pending = True, None
                transitions.append((i, SignalState.FIRING))
        else:
            if not recovered[i]:
                recovering = None
                continue
            recovering = t if recovering is None else recovering
            if t - recovering >= clear_hold_s:
                firing, recovering = False, None
                transitions.append((i, SignalState.CLEAR))
    last = float(ts[-1]) if ts.size else state.last_ts
    return HoldState(firing, pending, recovering, last), transitions
