"""Signal → alert: dedup by (rule, subject), count/last_seen, auto-resolve.

`apply` runs inside the caller's transaction, so the alert changes, the notifications the engine
enqueues for them and the rule state behind them commit together. The cases, in `decide`:

    signal   may auto-resolve   action
    firing   (any)              RAISE_OR_REPEAT  a new alert, or a repeat of the open one
    clear    yes                AUTO_RESOLVE     resolve the open alert (none open: no-op)
    clear    no                 KEEP_OPEN        a person has to look (sos, fall)

Whether an alert of the key is open is not read beforehand: that would be check-then-act across
two statements, and two engines could both see "none". The store decides it in the same statement
that acts (`raise_or_repeat` is an upsert on the one-open-alert-per-key index,
`resolve_by_dedup_key` an UPDATE of the open row), and `apply` reports what it did.

Severity escalation on repeat is the store's: a repeat keeps the higher of the two severities.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import psycopg
from psycopg.rows import TupleRow

from rules.registry import NEVER_RESOLVES
from rules.rule import Signal, SignalState
from store.alerts import transitions
from store.alerts.records import Alert, AlertChange, ChangeKind

#: Signal metrics (emergency kinds: sos, fall) that never resolve by themselves, whatever the
#: caller allows: someone has to check on the person. Their kind declares them and sends no
#: clear for them; this makes sure a clear from anywhere (a replay, a future rule) cannot close
#: one either.
NEVER_AUTO_RESOLVE: frozenset[str] = NEVER_RESOLVES


class Action(StrEnum):
    RAISE_OR_REPEAT = "raise_or_repeat"
    AUTO_RESOLVE = "auto_resolve"
    KEEP_OPEN = "keep_open"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One alert change `apply` made: `change.change` is raised, repeated or auto_resolved."""

    signal: Signal
    alert: Alert
    change: AlertChange

    @property
    def kind(self) -> ChangeKind:
        return ChangeKind(self.change.change)


def may_auto_resolve(signal: Signal, allowed: Callable[[Signal], bool] | bool = True) -> bool:
    """The caller's policy (`allowed`), except that sos and fall never auto-resolve."""
    if signal.metric in NEVER_AUTO_RESOLVE:
        return False
    return allowed(signal) if callable(allowed) else allowed


def decide(state: SignalState, auto_resolve: bool) -> Action:
    if state is SignalState.FIRING:
        return Action.RAISE_OR_REPEAT
    return Action.AUTO_RESOLVE if auto_resolve else Action.KEEP_OPEN


def actor_of(signal: Signal) -> str:
    return f"rule:{signal.rule}"


def apply(
    conn: psycopg.Connection[TupleRow],
    signals: Sequence[Signal],
    *,
    auto_resolve: Callable[[Signal], bool] | bool = True,
    household_of: Callable[[Signal], str | None] = lambda s: None,
) -> list[Outcome]:
    """Turn each signal into the alert change it means, in event-time order; return the changes.

    Signals with equal `at` keep their given order (a rule's firing before its clear). A clear
    with no open alert, or one that may not auto-resolve, changes nothing and is not returned.
    Leaves the transaction to the caller; database errors propagate.
    """
    outcomes: list[Outcome] = []
    for signal in sorted(signals, key=lambda s: s.at):
        action = decide(signal.state, may_auto_resolve(signal, auto_resolve))
        if action is Action.RAISE_OR_REPEAT:
            alert, change = transitions.raise_or_repeat(
                conn,
                dedup_key=signal.dedup_key,
                rule_id=signal.rule,
                site_id=signal.site,
                subject=signal.subject,
                household_id=household_of(signal),
                category=signal.category,
                severity=signal.severity,
                summary_key=signal.summary_key,
                summary_args=signal.summary_args,
                value=signal.value,
                metric=signal.metric,
                at=signal.at,
                actor=actor_of(signal),
            )
            outcomes.append(Outcome(signal, alert, change))
        elif action is Action.AUTO_RESOLVE:
            resolved = transitions.resolve_by_dedup_key(
                conn, signal.dedup_key, actor=actor_of(signal), at=signal.at
            )
            if resolved is not None:
                outcomes.append(Outcome(signal, *resolved))
    return outcomes
