"""The learned inactivity rule on simulated homes: a quiet month, and the incidents it must catch.

The simulator runs in-process and its messages are decoded by ingest's decoders (see
sim_feed.py), in 5-minute batches; every empty batch is a timer tick. Against it runs the
baseline every care product starts with, "no activity for N hours", at the N that catches the
no-wake-up incidents in time: the learned rule must be as quiet on the month and catch the fall,
which that N cannot. Run with `pytest -s` to see the figures.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pytest

from device_sims.scenario import ExpectedAlert
from rules.arrays import BatchView, epoch_s
from rules.catalog.inactivity import HouseholdState, InactivityParams, InactivityRule
from rules.directory import Directory
from rules.rule import RuleState, Signal, SignalState
from tests.rules.sim_feed import Batch, batches, community, directory_of, households_only

pytestmark = pytest.mark.slow

MONTH_DAYS = 30
#: The acceptance bound. A care alert sends a volunteer to the phone or to the door, and one
#: volunteer looks after a handful of homes: at one false alarm per home a month, someone on
#: the rota would be called out for nothing every few days and would learn to shrug alerts off
#: (alarm fatigue is what kills home-monitoring schemes). One every two months per home keeps
#: a false call a rare event for each volunteer.
MAX_FALSE_PER_HOUSEHOLD_MONTH = 0.5
#: Scenarios with care incidents; the long absence must raise nothing.
INCIDENTS = ("incident-no-wake-up", "incident-fall", "incident-long-absence", "small-community")


@dataclass
class FixedSilence:
    """The baseline: an alert after `hours` without activity; it knows nothing of routines,
    sleep, beds or the front door. Activity is what the learned rule counts: motion (not a bed
    or seat sensor repeating its occupancy), doors, water, the kettle."""

    hours: float
    directory: Directory
    last: dict[str, float] = field(default_factory=dict)
    firing: set[str] = field(default_factory=set)

    def evaluate(self, view: BatchView, now: datetime) -> list[tuple[str, SignalState, float]]:
        moments: dict[str, list[float]] = {}
        for (site, device, type_), events in view.events.items():
            household = self.directory.household_of(site, device)
            rest = self.directory.role_of(site, device) in ("bed", "seat")
            if household and type_ != "sos" and not (type_ == "motion" and rest):
                moments.setdefault(household, []).extend(events.ts.tolist())
        for (site, device, metric), series in view.series.items():
            household = self.directory.household_of(site, device)
            level = {"flow_lpm": 0.5, "flow": 0.5, "power_w": 20.0}.get(metric)
            if household and level is not None:
                moments.setdefault(household, []).extend(series.ts[series.values > level].tolist())
        out: list[tuple[str, SignalState, float]] = []
        for household, times in moments.items():
            ordered = sorted(times)
            previous = self.last.get(household, ordered[0] if ordered else math.inf)
            for t in ordered:
                if household not in self.firing and t - previous >= self.hours * 3600:
                    out.append((household, SignalState.FIRING, previous + self.hours * 3600))
                    self.firing.add(household)
                if household in self.firing:
                    out.append((household, SignalState.CLEAR, t))
                    self.firing.discard(household)
                previous = max(previous, t)
            self.last[household] = previous
        for household, t in self.last.items():
            if math.isinf(t):
                continue
            due = t + self.hours * 3600
            if household not in self.firing and due <= epoch_s(now):
                out.append((household, SignalState.FIRING, due))
                self.firing.add(household)
        return out


@dataclass(frozen=True, slots=True)
class Firing:
    subject: str
    at: float


def learned(feed: Sequence[Batch], directory: Directory) -> list[Firing]:
    rule = InactivityRule("inactivity", InactivityParams(), directory)
    state: RuleState[HouseholdState] = RuleState()
    out: list[Signal] = []
    for batch in feed:
        signals, state = rule.evaluate(batch.view, state, batch.end)
        out += signals
    return [Firing(s.subject, s.at.timestamp()) for s in out if s.state is SignalState.FIRING]


def fixed(feed: Sequence[Batch], directory: Directory, hours: float) -> list[Firing]:
    baseline = FixedSilence(hours, directory)
    out: list[Firing] = []
    for batch in feed:
        out += [
            Firing(h, t)
            for h, kind, t in baseline.evaluate(batch.view, batch.end)
            if kind is SignalState.FIRING
        ]
    return out


@dataclass(frozen=True, slots=True)
class Incident:
    scenario: str
    expected: ExpectedAlert
    #: When the resident was last active before it: where every silence rule starts counting.
    silence_from: float

    @property
    def name(self) -> str:
        return f"{self.scenario}/{self.expected.kind}/{self.expected.subject}"

    def caught(self, firings: Iterable[Firing]) -> float | None:
        """Hours from the incident's start to the first alert for it (None: none by its end)."""
        start = self.expected.not_before.timestamp()
        hits = [
            f.at
            for f in firings
            if f.subject == self.expected.subject and f.at >= self.silence_from
        ]
        return None if not hits else (min(hits) - start) / 3600.0

    def explains(self, firing: Firing) -> bool:
        return (
            firing.subject == self.expected.subject
            and self.silence_from <= firing.at <= self.expected.deadline.timestamp()
        )

    @property
    def deadline_h(self) -> float:
        return (self.expected.deadline - self.expected.not_before).total_seconds() / 3600.0


@pytest.fixture(scope="module")
def month() -> tuple[list[Batch], Directory]:
    scenario = households_only(community(), days=MONTH_DAYS, incidents=False)
    return list(batches(scenario)), directory_of(scenario)


@dataclass(frozen=True, slots=True)
class IncidentRun:
    """One incident scenario's homes, decoded, with the inactivity incidents they hold."""

    name: str
    feed: list[Batch]
    directory: Directory
    incidents: list[Incident]


@pytest.fixture(scope="module")
def incident_runs() -> list[IncidentRun]:
    out: list[IncidentRun] = []
    for name in INCIDENTS:
        scenario = households_only(community(name))
        feed = list(batches(scenario))
        directory = directory_of(scenario)
        found = [
            Incident(name, expected, _last_activity_before(feed, directory, expected))
            for expected in scenario.expected_alerts
            if expected.rule == "inactivity"
        ]
        out.append(IncidentRun(name, feed, directory, found))
    return out


def _last_activity_before(
    feed: Sequence[Batch], directory: Directory, expected: ExpectedAlert
) -> float:
    """The last moment of activity before the incident (batches end on its start)."""
    probe = FixedSilence(1e9, directory)
    for batch in feed:
        if batch.end > expected.not_before:
            break
        probe.evaluate(batch.view, batch.end)
    return probe.last[expected.subject]


def _report(line: str) -> None:
    print(line)  # noqa: T201  (the figures this test exists to show, with pytest -s)


def _per_household(firings: Sequence[Firing], households: Sequence[str]) -> str:
    counts = Counter(f.subject for f in firings)
    return " ".join(f"{h}:{counts.get(h, 0)}" for h in households)


def test_a_quiet_month_and_the_incidents(
    month: tuple[list[Batch], Directory], incident_runs: list[IncidentRun]
) -> None:
    feed, directory = month
    households = sorted(h for _, h in directory.households)
    incidents = [i for run in incident_runs for i in run.incidents]
    wake_ups = [i for i in incidents if i.expected.kind == "no_wake_up"]
    falls = [i for i in incidents if i.expected.kind == "fall"]
    assert wake_ups and falls
    # Each baseline's N: the longest that still catches every incident of a kind by its
    # deadline, counted from the resident's last activity (to the half hour below).
    n_wake, n_fall = (
        math.floor(min(i.expected.deadline.timestamp() - i.silence_from for i in kind) / 1800) / 2
        for kind in (wake_ups, falls)
    )
    rules = ("learned", f"fixed {n_wake} h", f"fixed {n_fall} h")

    def firings(feed: Sequence[Batch], directory: Directory) -> dict[str, list[Firing]]:
        return dict(
            zip(
                rules,
                (
                    learned(feed, directory),
                    fixed(feed, directory, n_wake),
                    fixed(feed, directory, n_fall),
                ),
                strict=True,
            )
        )

    quiet = firings(feed, directory)
    months = len(households) * MONTH_DAYS / 30.0
    _report(f"\nsmall-community, {len(households)} households, {MONTH_DAYS} days, no incidents:")
    for name, fired in quiet.items():
        rate = len(fired) / months
        _report(f"  {name:>12}: {len(fired):4d} false alarms, {rate:.2f} per household-month")
        _report(f"{'':16}{_per_household(fired, households)}")

    caught: dict[str, dict[str, float | None]] = {}
    stray: dict[str, list[tuple[str, Firing]]] = {rule: [] for rule in rules}
    for run in incident_runs:
        fired_in_run = firings(run.feed, run.directory)
        for incident in run.incidents:
            caught[incident.name] = {rule: incident.caught(fired_in_run[rule]) for rule in rules}
        for rule in rules:
            stray[rule] += [
                (run.name, f)
                for f in fired_in_run[rule]
                if not any(i.explains(f) for i in run.incidents)
            ]
    _report("hours from the incident's start to the alert (its deadline):")
    for incident in incidents:
        row = ", ".join(
            f"{rule} {'missed' if h is None else f'{h:.2f}'}"
            for rule, h in caught[incident.name].items()
        )
        _report(f"  {incident.name} ({incident.deadline_h:.0f} h): {row}")
    counts = ", ".join(f"{rule} {len(found)}" for rule, found in stray.items())
    _report(f"alerts in those scenarios that are no incident (long absence included): {counts}")

    # The learned rule: under the bound on the month, and every incident in time.
    assert len(quiet["learned"]) / months <= MAX_FALSE_PER_HOUSEHOLD_MONTH
    assert stray["learned"] == []  # the other homes, the long absence, the night wandering
    for incident in incidents:
        hours = caught[incident.name]["learned"]
        assert hours is not None and 0 <= hours <= incident.deadline_h, incident.name
    # The baseline that catches no-wake-up in time is later than the learned rule at it and
    # misses the fall; the one fast enough for falls calls someone out most nights.
    for incident in wake_ups:
        fixed_h, learned_h = caught[incident.name][rules[1]], caught[incident.name]["learned"]
        assert fixed_h is not None and learned_h is not None and fixed_h > learned_h
    for incident in falls:
        late = caught[incident.name][rules[1]]
        assert late is None or late > incident.deadline_h
    assert len(quiet[rules[2]]) >= 10 * max(1, len(quiet["learned"]))
