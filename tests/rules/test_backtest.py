"""rules.backtest.replay: the in-memory lifecycle, views from columns, backtests over a real
database, and the default rules replayed over the simulators' incident scenarios."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from importlib import resources

import numpy as np
import psycopg
import pytest
from psycopg.rows import TupleRow

from device_sims.scenario import load_scenario
from rules.arrays import FloatArray
from rules.backtest.replay import AlertBook, backtest, format_report, replay, view_from_columns
from rules.catalog.anomaly import AnomalyParams, AnomalyRule, Bucket, learn, learn_bulk
from rules.definitions import RuleDefinition, load_rules_file, parse_rules
from rules.directory import Directory
from rules.registry import KINDS, compile_rule
from rules.rule import Category, Severity, Signal, SignalState
from store.readings.writer import BatchWriter
from store.records import Event, Message, Reading
from tests.rules.sim_feed import batches, directory_of

T0 = datetime(2025, 3, 3, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
SITE = "sunny-court"


def sig(state: SignalState, minute: float, subject: str = "pump-01", metric: str = "p") -> Signal:
    return Signal(
        rule="r",
        subject=subject,
        site=SITE,
        category=Category.MAINTENANCE,
        severity=Severity.WARNING,
        state=state,
        at=T0 + timedelta(minutes=minute),
        value=1.0,
        metric=metric,
        summary_key="{metric} on {device}",
        summary_args={"metric": metric, "device": subject},
    )


FIRE, CLEAR = SignalState.FIRING, SignalState.CLEAR


@pytest.mark.parametrize(
    ("signals", "auto_resolve", "expected"),
    [
        # (first_seen, last_seen, occurrences, resolved_at) in minutes after T0.
        ([sig(FIRE, 1)], True, [(1, 1, 1, None)]),
        ([sig(FIRE, 1), sig(FIRE, 5), sig(CLEAR, 9)], True, [(1, 5, 2, 9)]),
        ([sig(FIRE, 1), sig(CLEAR, 9), sig(FIRE, 12)], True, [(1, 1, 1, 9), (12, 12, 1, None)]),
        ([sig(FIRE, 1), sig(CLEAR, 9)], False, [(1, 1, 1, None)]),
        ([sig(CLEAR, 3)], True, []),
        # Given out of order, applied in event-time order.
        ([sig(CLEAR, 9), sig(FIRE, 1)], True, [(1, 1, 1, 9)]),
        # sos never resolves by itself, whatever the rule allows.
        ([sig(FIRE, 1, metric="sos"), sig(CLEAR, 2, metric="sos")], True, [(1, 1, 1, None)]),
        # One open alert per dedup key: another subject is another alert.
        ([sig(FIRE, 1), sig(FIRE, 2, subject="pump-02")], True, [(1, 1, 1, None), (2, 2, 1, None)]),
    ],
)
def test_alert_book(
    signals: Sequence[Signal],
    auto_resolve: bool,
    expected: list[tuple[float, float, int, float | None]],
) -> None:
    book = AlertBook()
    book.apply(signals, auto_resolve)

    def minutes(t: datetime) -> float:
        return (t - T0).total_seconds() / 60

    assert [
        (
            minutes(a.first_seen),
            minutes(a.last_seen),
            a.occurrences,
            None if a.resolved_at is None else minutes(a.resolved_at),
        )
        for a in book.alerts()
    ] == expected


def test_view_from_columns_sorts_drops_gaps_and_keeps_the_first_of_equal_stamps() -> None:
    names = {1: (SITE, "pump-01", "p"), 2: (SITE, "tank-01", "level_pct")}
    view = view_from_columns(
        np.array([2, 1, 1, 1, 2, 9, 1], dtype=np.int32),
        np.array([5.0, 3.0, 1.0, 2.0, 4.0, 1.0, 1.0]),
        np.array([50.0, 30.0, 10.0, np.nan, 40.0, 0.0, 11.0]),
        names,
        [Event(SITE, "gate", T0, "access_denied")],
    )
    pump, tank = view.series[names[1]], view.series[names[2]]
    assert (pump.ts.tolist(), pump.values.tolist()) == ([1.0, 3.0], [10.0, 30.0])
    assert (tank.ts.tolist(), tank.values.tolist()) == ([4.0, 5.0], [40.0, 50.0])
    assert len(view.series) == 2  # series 9 has no name: not ours
    assert list(view.events) == [(SITE, "gate", "access_denied")]


# -- against the store -------------------------------------------------------------------------

PRESSURE_RULE = """rules:
  - id: pump-pressure-low
    kind: threshold
    category: maintenance
    severity: critical
    params: {metric: pressure_bar, op: "<", value: 2.0, clear_value: 2.8, hold_s: 120}
"""


def _store(
    conn: psycopg.Connection[TupleRow], readings: list[Reading], events: list[Event]
) -> None:
    BatchWriter(feed_enabled=False).write(
        conn, [Message(received_at=T0, readings=tuple(readings), events=tuple(events))]
    )


def _pressure(minutes: int, low: Sequence[range]) -> list[Reading]:
    """A pump reporting every 30 s: 3.5 bar, and 1.0 bar during the `low` minute ranges."""
    out = []
    for half in range(minutes * 2):
        minute = half / 2
        value = 1.0 if any(r.start <= minute < r.stop for r in low) else 3.5
        out.append(
            Reading(SITE, "pump-01", "pressure_bar", T0 + timedelta(seconds=30 * half), value)
        )
        out.append(Reading(SITE, "pump-01", "current_a", T0 + timedelta(seconds=30 * half), 0.5))
    return out


def test_backtest_lists_the_alerts_a_rule_would_have_raised(database_url: str) -> None:
    (definition,) = parse_rules(PRESSURE_RULE, "t.yaml")
    # Two day-long dips across chunk borders (6 h chunks), and a 1-minute blip that a 2-minute
    # hold ignores.
    readings = _pressure(24 * 60, [range(350, 400), range(600, 601), range(1430, 1500)])
    with psycopg.connect(database_url, autocommit=True) as conn:
        _store(conn, readings, [])
        tables = ("alerts", "alert_changes", "notifications", "rule_state")
        before = [conn.execute(f"SELECT count(*) FROM {t}").fetchone() for t in tables]
        report = backtest(conn, definition, T0, T0 + timedelta(days=1), Directory(), reads="raw")
        read_ahead = backtest(
            conn,
            definition,
            T0,
            T0 + timedelta(days=1),
            Directory(),
            connect=lambda: psycopg.connect(database_url, autocommit=True),
            readers=3,
            reads="raw",
        )
        planned = backtest(conn, definition, T0, T0 + timedelta(days=1), Directory())
        after = [conn.execute(f"SELECT count(*) FROM {t}").fetchone() for t in tables]
    assert before == after == [(0,)] * 4
    assert report.readings == 24 * 60 * 2  # only pressure_bar was read
    assert read_ahead == report
    # From the hourly rollup: only the hours around the dips are read, to the same alerts.
    assert (planned.reads, planned.alerts) == ("hours", report.alerts)
    assert planned.readings == 6 * 60 * 2  # hours 5-7, 10-11 and 23
    first, second = report.alerts
    assert (first.first_seen, first.resolved_at) == (
        T0 + timedelta(minutes=352),
        T0 + timedelta(minutes=400),
    )
    assert second.first_seen == T0 + timedelta(minutes=1432) and second.resolved_at is None
    assert (first.subject, first.metric, first.severity) == ("pump-01", "pressure_bar", "critical")
    assert first.summary == "pressure_bar on pump-01 is below 2.0 (1.0)"
    text = format_report(report, "Asia/Shanghai")
    assert text.splitlines()[0] == (
        "Rule pump-pressure-low: 2 alert(s) from 2025-03-03 08:00 to 2025-03-04 08:00 "
        "(Asia/Shanghai)"
    )
    assert "2025-03-03 13:52 .. 2025-03-03 13:52  critical" in text
    assert "resolved 2025-03-03 14:40" in text and "still open" in text


def test_time_driven_rules_progress_between_samples(database_url: str) -> None:
    (definition,) = parse_rules(
        "rules:\n  - {id: held, kind: door_held, category: security, severity: warning,"
        " params: {hold_s: 600}}\n",
        "t.yaml",
    )
    events = [
        Event(SITE, "b01-door-01", T0 + timedelta(hours=1), "door_open"),
        Event(SITE, "b01-door-01", T0 + timedelta(hours=1, seconds=20), "door_closed"),
        # Left open, and nothing else happens for the rest of the day.
        Event(SITE, "b01-door-01", T0 + timedelta(hours=2), "door_open"),
    ]
    with psycopg.connect(database_url, autocommit=True) as conn:
        _store(conn, [], events)
        report = backtest(conn, definition, T0, T0 + timedelta(hours=12), Directory())
    (alert,) = report.alerts
    assert alert.first_seen == T0 + timedelta(hours=2, minutes=10)
    assert alert.resolved_at is None and report.events == 3


def test_an_empty_history_raises_nothing(database_url: str) -> None:
    (definition,) = parse_rules(PRESSURE_RULE, "t.yaml")
    with psycopg.connect(database_url, autocommit=True) as conn:
        report = backtest(conn, definition, T0, T0 + timedelta(days=2), Directory())
    assert report.alerts == () and report.readings == 0
    assert format_report(report, "UTC").endswith("No alerts.")


# -- the default rules over the simulators' incidents ------------------------------------------

INCIDENTS = sorted(
    entry.name.removesuffix(".yaml")
    for entry in resources.files("device_sims.scenarios").iterdir()
    if entry.name.startswith("incident-")
    # The in-process feed batches by message timestamp, and a clock running 1 h fast makes
    # later messages look late; ingest rejects such messages, which this feed does not model.
    and entry.name != "incident-clock-skew.yaml"
)


def _defaults() -> list[RuleDefinition]:
    return [
        d
        for d in load_rules_file(str(resources.files("rules").joinpath("defaults.yaml")))
        if d.enabled
    ]


@pytest.mark.parametrize("name", INCIDENTS)
def test_defaults_raise_each_expected_alert_in_time_and_nothing_else(name: str) -> None:
    scenario = load_scenario(name)
    directory = directory_of(scenario)
    rules = [compile_rule(d, directory) for d in _defaults()]
    views = [(b.view, b.end) for b in batches(scenario)]
    alerts = [a for r in rules for a in replay(r, views)[0].alerts()]
    for e in scenario.expected_alerts:
        hits = [
            a
            for a in alerts
            if KINDS[e.rule].name == _kind_of(a.rule)
            and a.subject == e.subject
            and a.category == e.category
            and (e.metric is None or a.metric == e.metric)
            and (e.severity is None or a.severity == e.severity)
        ]
        assert len(hits) == 1, f"{e}: {hits}"
        assert e.not_before <= hits[0].first_seen <= e.deadline, f"{e}: {hits[0]}"
    # Outside the incidents' own subjects the community stays quiet.
    subjects = {e.subject for e in scenario.expected_alerts} | {f.target for f in scenario.faults}
    assert [a for a in alerts if a.subject not in subjects] == []


def _kind_of(rule_id: str) -> str:
    return {d.id: d.kind for d in _defaults()}[rule_id]


# -- the anomaly rule in bulk ------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/Berlin"])
def test_bulk_anomaly_learning_is_learn_sample_by_sample(zone: str) -> None:
    """learn_bulk (what makes a month's backtest fast) against `learn`, the reference."""
    params = AnomalyParams("m", timezone=zone, warmup_samples=5, rate=0.2, min_mad=0.01)
    rule = AnomalyRule("a", params)
    rng = np.random.default_rng(7)
    # Three series over a DST change in Berlin (2025-03-30 01:00 UTC), 7-minute steps, a few
    # outliers; fed in uneven batches so that warm-up spans batch borders.
    start = datetime(2025, 3, 29, 20, 0, tzinfo=UTC).timestamp()
    series: dict[str, tuple[FloatArray, FloatArray]] = {
        d: (
            start + 420.0 * np.arange(400, dtype=np.float64) + rng.uniform(0, 60),
            rng.normal(10 * i, 1 + i, 400).astype(np.float64),
        )
        for i, d in enumerate(("a", "b", "c"))
    }
    for _, values in series.values():
        values[rng.integers(0, 400, 8)] += 50.0
    reference: dict[str, dict[int, Bucket]] = {d: {} for d in series}
    buckets: list[dict[int, Bucket]] = [{} for _ in series]
    for lo, hi in ((0, 3), (3, 90), (90, 91), (91, 400)):
        bulk = learn_bulk(
            buckets,
            [rule._buckets_of(ts[lo:hi]) for ts, _ in series.values()],
            [v[lo:hi] for _, v in series.values()],
            params,
        )
        for i, (d, (ts, values)) in enumerate(series.items()):
            new, z, medians = bulk[i]
            expected_z, expected_m = [], []
            for t, x in zip(ts[lo:hi].tolist(), values[lo:hi].tolist(), strict=True):
                b = rule._bucket_of(t)
                before = reference[d].get(b, Bucket())
                reference[d][b], zi = learn(before, x, params)
                expected_z.append(np.nan if zi is None else zi)
                expected_m.append(np.nan if zi is None or before.median is None else before.median)
            assert rule._buckets_of(ts[lo:hi]).tolist() == [
                rule._bucket_of(t) for t in ts[lo:hi].tolist()
            ]
            np.testing.assert_array_equal(z, expected_z)
            np.testing.assert_array_equal(medians, expected_m)
            assert new == reference[d]
            buckets[i] = new
