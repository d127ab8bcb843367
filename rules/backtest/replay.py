"""Backtest: evaluate one rule over stored history and list the alerts it would have raised.

Nothing is written: no alerts, no rule state, no notifications. The rule starts from an empty
state (a learned baseline warms up on the history itself) and sees the history chunk by chunk,
as the engine sees committed batches; the alert lifecycle runs in memory with the engine's
decisions (rules.lifecycle.decide): one open alert per dedup key, a repeat counts, a clear
auto-resolves where the rule allows it.

Threshold and anomaly rules read less by default (`reads="auto"`): the hourly rollup first, then
only the raw readings that can matter (rules.backtest.plan: exact for thresholds, approximate in
recall for anomalies); `reads="raw"` reads every reading of the window. On TimescaleDB the
rollup is a continuous aggregate, refreshed for the window first: give an autocommit connection
(store.readings.hourly_rollup), or the whole window is read raw.

Rules that complete with the passing of time (a door held open, a burst ending, a silence) are
stepped through each chunk in `step_s` slices, every slice evaluated at its end even when empty,
as the engine's timer ticks would; rules driven by their samples alone see whole chunks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg.rows import TupleRow

from rules.arrays import BatchView, EventSeries, FloatArray, Key, Series
from rules.backtest import sources
from rules.definitions import RuleDefinition
from rules.directory import Directory
from rules.lifecycle import Action, decide, may_auto_resolve
from rules.registry import KINDS, CompiledRule, compile_rule
from rules.rule import Category, RuleState, Severity, Signal
from store.readings import history
from store.records import Event

DEFAULT_STEP_S = 300.0
_SEVERITY_ORDER = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


@dataclass(frozen=True, slots=True)
class WouldBeAlert:
    rule: str
    site: str
    subject: str
    metric: str | None
    category: Category
    severity: Severity
    first_seen: datetime
    last_seen: datetime
    occurrences: int
    resolved_at: datetime | None
    summary: str


@dataclass(frozen=True, slots=True)
class BacktestReport:
    rule: str
    start: datetime
    end: datetime
    alerts: tuple[WouldBeAlert, ...]
    readings: int = 0
    events: int = 0
    signals: int = 0
    #: "raw" (every reading), "hours" or "series" (what the rollup could not rule out).
    reads: str = "raw"
    #: False when the rollup screen of anomalies skipped series: an alert may be missing.
    exact: bool = True


@dataclass
class _Open:
    signal: Signal
    severity: Severity
    last_seen: datetime
    occurrences: int = 1


@dataclass
class AlertBook:
    """The alert lifecycle in memory: what `rules.lifecycle.apply` does to the table."""

    open: dict[str, _Open] = field(default_factory=dict)
    closed: list[WouldBeAlert] = field(default_factory=list)

    def apply(self, signals: Sequence[Signal], auto_resolve: bool) -> None:
        for s in sorted(signals, key=lambda s: s.at):
            action = decide(s.state, may_auto_resolve(s, auto_resolve))
            current = self.open.get(s.dedup_key)
            if action is Action.RAISE_OR_REPEAT:
                if current is None:
                    self.open[s.dedup_key] = _Open(s, s.severity, s.at)
                else:
                    current.occurrences += 1
                    current.last_seen = max(current.last_seen, s.at)
                    if _SEVERITY_ORDER[s.severity] > _SEVERITY_ORDER[current.severity]:
                        current.severity = s.severity
            elif action is Action.AUTO_RESOLVE and current is not None:
                del self.open[s.dedup_key]
                self.closed.append(_would_be(current, s.at))

    def alerts(self) -> list[WouldBeAlert]:
        """Every alert, resolved or still open, in the order they were first raised."""
        still = [_would_be(o, None) for o in self.open.values()]
        return sorted([*self.closed, *still], key=lambda a: (a.first_seen, a.subject))


def _would_be(o: _Open, resolved_at: datetime | None) -> WouldBeAlert:
    s = o.signal
    return WouldBeAlert(
        rule=s.rule,
        site=s.site,
        subject=s.subject,
        metric=s.metric,
        category=s.category,
        severity=o.severity,
        first_seen=s.at,
        last_seen=o.last_seen,
        occurrences=o.occurrences,
        resolved_at=resolved_at,
        summary=s.summary,
    )


# -- views from columns ------------------------------------------------------------------------


def view_from_columns(
    series_ids: npt.NDArray[np.int32],
    epochs: FloatArray,
    values: FloatArray,
    names: Mapping[int, tuple[str, str, str]],
    events: Iterable[Event] = (),
) -> BatchView:
    """A view straight from reading columns (rules.arrays' invariants established in bulk: one
    sort for all series, not one per series)."""
    return next(_sliced(series_ids, epochs, values, names, list(events), [np.inf]))[0]


def _sliced(
    series_ids: npt.NDArray[np.int32],
    epochs: FloatArray,
    values: FloatArray,
    names: Mapping[int, tuple[str, str, str]],
    events: list[Event],
    edges: Sequence[float],
) -> Iterator[tuple[BatchView, int]]:
    """One view per slice (-inf, edges[0]), [edges[0], edges[1]), ... with its index."""
    keep = np.isfinite(values) & np.isfinite(epochs)
    if not keep.all():
        series_ids, epochs, values = series_ids[keep], epochs[keep], values[keep]
    order = np.lexsort((epochs, series_ids))
    sids, ts, vs = series_ids[order], epochs[order], values[order]
    # The store's primary key makes (series, ts) unique; equal stamps can only come from a
    # caller's columns, and the first one is kept, as Series.of keeps it.
    if sids.size > 1:
        first = np.concatenate(([True], (np.diff(ts) != 0) | (np.diff(sids) != 0)))
        if not first.all():
            sids, ts, vs = sids[first], ts[first], vs[first]
    bounds = np.append(np.flatnonzero(np.diff(sids, prepend=-1) != 0), sids.size).astype(np.int64)
    if not sids.size:
        bounds = np.zeros(1, dtype=np.int64)
    named = [
        (int(a), int(b), names.get(int(sids[a])))
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    edge_arr = np.asarray(edges, dtype=np.float64)
    cuts = [np.searchsorted(ts[a:b], edge_arr, side="left") + a for a, b, _ in named]
    event_ts = np.array([e.ts.timestamp() for e in events], dtype=np.float64)
    event_cuts = np.searchsorted(event_ts, edge_arr, side="left")
    for i in range(len(edges)):
        series: dict[Key, Series] = {}
        for (a, _, name), cut in zip(named, cuts, strict=True):
            lo, hi = (a if i == 0 else int(cut[i - 1])), int(cut[i])
            if name is not None and hi > lo:
                series[name] = Series(*name, ts[lo:hi], vs[lo:hi])
        lo_e = 0 if i == 0 else int(event_cuts[i - 1])
        grouped: dict[Key, list[Event]] = {}
        for e in events[lo_e : int(event_cuts[i])]:
            grouped.setdefault((e.site, e.device, e.type), []).append(e)
        yield (
            BatchView(series, {k: EventSeries.of(*k, evs) for k, evs in grouped.items()}),
            i,
        )


# -- the backtest ------------------------------------------------------------------------------


def replay(
    rule: CompiledRule,
    views: Iterable[tuple[BatchView, datetime]],
    state: RuleState[Any] | None = None,
) -> tuple[AlertBook, int]:
    """Evaluate `rule` on each (view, now) in order; the alerts it leads to, and the number of
    signals. Pure: for stored history, simulated feeds and tests alike."""
    book = AlertBook()
    current = rule.load_state({}) if state is None else state
    signals = 0
    for view, now in views:
        fired, current = rule.evaluate(view, current, now)
        signals += len(fired)
        book.apply(fired, rule.auto_resolve)
    return book, signals


def backtest(
    conn: psycopg.Connection[TupleRow],
    definition: RuleDefinition,
    start: datetime,
    end: datetime,
    directory: Directory,
    *,
    chunk_s: float = history.DEFAULT_CHUNK_S,
    step_s: float | None = None,
    connect: Callable[[], psycopg.Connection[TupleRow]] | None = None,
    readers: int = 2,
    reads: Literal["auto", "raw"] = "auto",
) -> BacktestReport:
    """The alerts `definition` would have raised on the history of [start, end).

    Reads the sites of the rule's scope (every site when it names none), and only the metrics
    and event types the rule's kind reads. `step_s` slices chunks for time-driven kinds
    (default 300 s for those, whole chunks for the others). With `connect` (a factory of new
    connections to the same database), `readers` threads read the next chunks while this one
    is evaluated. `reads="auto"` lets threshold and anomaly rules read only what the hourly
    rollup cannot rule out (rules.backtest.plan); "raw" reads everything. Writes nothing.
    """
    rule = compile_rule(definition, directory)
    sites = definition.scope.sites or None
    names = history.series_names(conn, sites, rule.inputs.metrics)
    plan = (
        sources.plan_reads(conn, definition, names, directory, start, end)
        if reads == "auto"
        else None
    )
    if step_s is None:
        step_s = DEFAULT_STEP_S if KINDS[definition.kind].timed else chunk_s
    counts = {"readings": 0, "events": 0}

    def views() -> Iterator[tuple[BatchView, datetime]]:
        types = rule.inputs.event_types
        ids = list(names) if plan is None else list(plan.series)
        source = (
            sources.hour_chunks(
                conn, plan, start, end, sites=sites, event_types=types, chunk_s=chunk_s
            )
            if plan is not None and plan.path == "hours"
            else history.chunks(
                conn, start, end, series=ids, sites=sites, event_types=types, chunk_s=chunk_s
            )
            if connect is None
            else history.chunks_parallel(
                connect,
                start,
                end,
                series=ids,
                sites=sites,
                event_types=types,
                chunk_s=chunk_s,
                readers=readers,
            )  # fmt: skip
        )
        for chunk in source:
            counts["readings"] += len(chunk.readings)
            counts["events"] += len(chunk.events)
            ends = _slice_ends(chunk.start, chunk.end, step_s)
            cols = chunk.readings
            for view, i in _sliced(
                cols.series_ids,
                cols.epochs,
                cols.values,
                names,
                list(chunk.events),
                [e.timestamp() for e in ends],
            ):
                yield view, ends[i]

    book, signals = replay(rule, views())
    return BacktestReport(
        rule=definition.id,
        start=start,
        end=end,
        alerts=tuple(book.alerts()),
        readings=counts["readings"],
        events=counts["events"],
        signals=signals,
        reads="raw" if plan is None else plan.path,
        exact=plan is None or plan.exact,
    )


def _slice_ends(start: datetime, end: datetime, step_s: float) -> list[datetime]:
    ends: list[datetime] = []
    t = start
    step = timedelta(seconds=step_s)
    while t + step < end:
        t += step
        ends.append(t)
    ends.append(end)
    return ends


# -- the CLI's text ----------------------------------------------------------------------------

HEADER = "Rule {rule}: {count} alert(s) from {start} to {end} ({zone})"
LINE = "{first} .. {last}  {severity:<8} {site}/{subject}{metric}  x{occurrences}  {status}"
RESOLVED = "resolved {at}"
STILL_OPEN = "still open"
NONE = "No alerts."
SCREENED = (
    "Read only the series the hourly rollup could not rule out: an anomaly on a series it"
    " passed is not listed (--raw reads every reading)."
)


def format_report(report: BacktestReport, tz: str | ZoneInfo) -> str:
    """The report as people read it, times local to `tz` (English templates, gettext msgids)."""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)

    def local(t: datetime) -> str:
        return t.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    lines = [
        HEADER.format(
            rule=report.rule,
            count=len(report.alerts),
            start=local(report.start),
            end=local(report.end),
            zone=zone.key,
        )
    ]
    for a in report.alerts:
        status = (
            RESOLVED.format(at=local(a.resolved_at)) if a.resolved_at is not None else STILL_OPEN
        )
        lines.append(
            LINE.format(
                first=local(a.first_seen),
                last=local(a.last_seen),
                severity=str(a.severity),
                site=a.site,
                subject=a.subject,
                metric=f" [{a.metric}]" if a.metric else "",
                occurrences=a.occurrences,
                status=status,
            )
        )
        lines.append(f"    {a.summary}")
    if not report.alerts:
        lines.append(NONE)
    if not report.exact:
        lines.append(SCREENED)
    return "\n".join(lines)


__all__ = [
    "AlertBook",
    "BacktestReport",
    "WouldBeAlert",
    "backtest",
    "format_report",
    "replay",
    "view_from_columns",
]
