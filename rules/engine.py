"""The rules engine's core: committed batches and timer ticks in, alert changes out.

Single-threaded by design: one connection, one transaction per unit of work, so that the alert
changes a batch leads to, the notifications they enqueue, the rule state behind them and the
feed cursor that says "this batch is done" commit together. A crash anywhere before the commit
leaves the batch unconsumed and the state as it was: the restarted engine evaluates it again and
reaches the same decisions. Nothing is lost and nothing is raised twice.

`RulesService` (rules/service.py) feeds it: batches from the feed, ticks from apscheduler,
refreshes of definitions, directory and site ownership.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

import psycopg
from psycopg.rows import TupleRow

from rules import lifecycle
from rules.arrays import BatchView
from rules.clock import Clock
from rules.directory import Directory
from rules.feed_view import FeedNames, data_epochs, view_of_feed
from rules.lifecycle import Outcome
from rules.placement import place_statuses
from rules.policy import NotifyPolicy
from rules.rule import RuleState, Signal
from store.readings import feed
from store.readings.feed import FeedBatch
from store.rules import rule_state

logger = logging.getLogger(__name__)


class EngineRule(Protocol):
    """A compiled rule definition, as the engine runs it."""

    @property
    def id(self) -> str: ...

    @property
    def auto_resolve(self) -> bool: ...

    @property
    def notify(self) -> NotifyPolicy: ...

    def evaluate(
        self, view: BatchView, state: RuleState[Any], now: datetime
    ) -> tuple[list[Signal], RuleState[Any]]: ...

    def load_state(self, raw: dict[str, object]) -> RuleState[Any]: ...


Connection = psycopg.Connection[TupleRow]
#: Enqueues the notifications of these outcomes, in the caller's transaction.
OnOutcomes = Callable[[Connection, Sequence[Outcome], datetime], object]


def site_of_key(key: str) -> str:
    """Rule-state keys start with their site (rules.arrays.state_key): "site/device/metric"."""
    return key.split("/", 1)[0]


@dataclass
class Stats:
    batches: int = 0
    ticks: int = 0
    signals: int = 0
    changes: int = 0
    rule_errors: int = 0
    last_batch_id: int = 0
    by_change: dict[str, int] = field(default_factory=dict)


class Engine:
    def __init__(
        self,
        conn: Connection,
        clock: Clock,
        on_outcomes: OnOutcomes | None = None,
    ) -> None:
        self._conn = conn
        self._clock = clock
        self._on_outcomes = on_outcomes
        self._rules: dict[str, EngineRule] = {}
        self._states: dict[str, RuleState[Any]] = {}
        self._directory = Directory()
        self._names = FeedNames()
        self._sites: frozenset[str] = frozenset()
        self._cursors: dict[str, int] = {}
        #: The feed id reading resumes after: the lowest cursor when sites were (re)loaded.
        self._position = 0
        self.stats = Stats()

    # -- configuration -------------------------------------------------------------------

    @property
    def sites(self) -> frozenset[str]:
        return self._sites

    @property
    def rules(self) -> dict[str, EngineRule]:
        return dict(self._rules)

    def policy_of(self, rule_id: str) -> NotifyPolicy:
        rule = self._rules.get(rule_id)
        return NotifyPolicy() if rule is None else rule.notify

    def set_rules(self, rules: Collection[EngineRule], directory: Directory) -> None:
        """Install compiled rules; a rule new to this engine gets its state from the store."""
        self._directory = directory
        fresh = {r.id: r for r in rules}
        for rule_id, rule in fresh.items():
            if rule_id not in self._states:
                with self._conn.transaction():
                    raw = rule_state.load(self._conn, rule_id)
                self._states[rule_id] = rule.load_state(raw)
        for gone in set(self._states) - set(fresh):
            del self._states[gone]
        self._rules = fresh

    def set_sites(self, sites: Collection[str], gained: Collection[str] = ()) -> None:
        """Own `sites` from now on. The state of `gained` sites is what their last owner
        committed: reload it, and their cursors, from the store."""
        self._sites = frozenset(sites)
        if gained:
            with self._conn.transaction():
                for rule_id, rule in self._rules.items():
                    raw = rule_state.load(self._conn, rule_id)
                    ours = {k: v for k, v in raw.items() if site_of_key(k) in gained}
                    loaded = rule.load_state(ours)
                    kept = {
                        k: s
                        for k, s in self._states[rule_id].by_key.items()
                        if site_of_key(k) not in gained
                    }
                    self._states[rule_id] = RuleState({**kept, **loaded.by_key})
        with self._conn.transaction():
            self._cursors = feed.cursors(self._conn, self._sites) if self._sites else {}
        self._position = min(self._cursors.values(), default=0)

    # -- work ----------------------------------------------------------------------------

    def poll(self, limit: int) -> int:
        """Consume up to `limit` feed batches for the owned sites; returns how many were read.

        Reading resumes where the last page ended. A page holds every batch after that point
        that touches an owned site, so once it is processed no owned site has anything left at
        or before its last id: the cursors of quiet sites move there too (one statement per
        page), so a restart does not rescan what they never had, and pruning can proceed.
        """
        if not self._sites:
            return 0
        with self._conn.transaction():
            batches = feed.read_after(self._conn, self._position, self._sites, limit)
            self._names.fill(self._conn, batches)
        for batch in batches:
            self.process(batch)
        if batches:
            last = batches[-1].id
            with self._conn.transaction():
                feed.advance(self._conn, self._sites, last)
            for site in self._sites:
                self._cursors[site] = max(self._cursors.get(site, 0), last)
            self._position = last
        return len(batches)

    def process(self, batch: FeedBatch) -> list[Outcome]:
        sites = {s for s in batch.sites if s in self._sites and self._cursors.get(s, 0) < batch.id}
        if not sites:
            return []
        arrival_before = self._clock.arrival()
        epochs = data_epochs(batch)
        self._clock.observe(epochs)
        now = self._clock.now()
        view = view_of_feed(batch, self._names, sites)
        if view.statuses:
            statuses = place_statuses(
                view.statuses,
                arrival_before=arrival_before,
                arrival=self._clock.arrival(),
                data_epochs=epochs,
                now=now,
            )
            view = replace(view, statuses=statuses)
        outcomes = self._evaluate(view, now, batch_sites=sites, batch_id=batch.id)
        for site in sites:
            self._cursors[site] = batch.id
        self.stats.batches += 1
        self.stats.last_batch_id = batch.id
        return outcomes

    def tick(self, now: datetime | None = None) -> list[Outcome]:
        """Let time pass for every rule: an empty view at `now` (the clock's by default)."""
        if not self._sites:
            return []
        self.stats.ticks += 1
        return self._evaluate(BatchView(), now or self._clock.now())

    def _evaluate(
        self,
        view: BatchView,
        now: datetime,
        batch_sites: Collection[str] = (),
        batch_id: int | None = None,
    ) -> list[Outcome]:
        # Signals and state of every owned site count, not only the batch's: time passes for
        # all of them. What belongs to sites another engine owns is that engine's to decide.
        sites = self._sites
        signals: list[Signal] = []
        new_states: dict[str, RuleState[Any]] = {}
        for rule_id, rule in self._rules.items():
            old = self._states[rule_id]
            try:
                fired, state = rule.evaluate(view, old, now)
            except Exception:
                # A rule with a bug must not stop the others, nor the feed.
                self.stats.rule_errors += 1
                logger.exception("rule %s failed; its state is left as it was", rule_id)
                continue
            signals.extend(s for s in fired if s.site in sites)
            new_states[rule_id] = state
        with self._conn.transaction():
            outcomes = lifecycle.apply(
                self._conn,
                signals,
                auto_resolve=lambda s: self._auto_resolves(s.rule),
                household_of=self._household_of,
            )
            if outcomes and self._on_outcomes is not None:
                self._on_outcomes(self._conn, outcomes, now)
            for rule_id, state in new_states.items():
                changed = state.changed_since(self._states[rule_id])
                mine = {k: s.to_json() for k, s in changed.items() if site_of_key(k) in sites}
                rule_state.save(self._conn, rule_id, mine)
            if batch_id is not None:
                feed.advance(self._conn, batch_sites, batch_id)
        # Committed: the new states are now the truth.
        self._states.update(new_states)
        self.stats.signals += len(signals)
        self.stats.changes += len(outcomes)
        for outcome in outcomes:
            kind = str(outcome.kind)
            self.stats.by_change[kind] = self.stats.by_change.get(kind, 0) + 1
        return outcomes

    def _auto_resolves(self, rule_id: str) -> bool:
        rule = self._rules.get(rule_id)
        return rule is not None and rule.auto_resolve

    def _household_of(self, signal: Signal) -> str | None:
        if (signal.site, signal.subject) in self._directory.households:
            return signal.subject
        return self._directory.household_of(signal.site, signal.subject)
