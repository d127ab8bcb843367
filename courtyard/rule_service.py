"""The API's RuleService, implemented with the rules package (the API may not import it).

`validate` checks a definition the way the rules file and the engine do; `backtest` runs it over
stored history without writing anything. The API's definitions may name one site (`site_id`):
it replaces the scope's sites, as it does when the engine reads the rule back.
"""

from __future__ import annotations

from datetime import datetime

import psycopg

from api.services import BacktestSignal, FieldError
from rules import directory, event_reads
from rules.backtest import replay
from rules.definitions import RuleDefinition as Definition
from rules.definitions import check_record
from store.rules.rule_defs import RuleRecord
from store.settings import StoreSettings


class RulesForApi:
    def __init__(self, store: StoreSettings) -> None:
        self._store = store

    def validate(self, definition: RuleRecord) -> list[FieldError]:
        _, problems = check_record(definition)
        return [FieldError(field, message) for field, message in problems]

    def event_types_used(self, definition: RuleRecord) -> frozenset[str] | None:
        return event_reads.event_types_used(
            definition.kind, dict(definition.params), definition.category, definition.severity
        )

    def backtest(
        self, definition: RuleRecord, start: datetime, end: datetime
    ) -> list[BacktestSignal]:
        checked, problems = check_record(definition)
        if checked is None:
            raise ValueError("; ".join(f"{f}: {m}" for f, m in problems))
        return self._signals(checked, start, end)

    def _signals(
        self, definition: Definition, start: datetime, end: datetime
    ) -> list[BacktestSignal]:
        # Autocommit: on TimescaleDB the backtest refreshes the rollup first
        # (rules.backtest.replay).
        with psycopg.connect(self._store.url, autocommit=True) as conn:
            places = directory.load(conn, definition.scope.sites or None)
            report = replay.backtest(conn, definition, start, end, places)
        signals: list[BacktestSignal] = []
        for a in report.alerts:
            signals.append(
                BacktestSignal(a.first_seen, a.site, a.subject, "firing", None, a.metric, a.summary)
            )
            if a.resolved_at is not None:
                signals.append(
                    BacktestSignal(
                        a.resolved_at, a.site, a.subject, "clear", None, a.metric, a.summary
                    )
                )
        return sorted(signals, key=lambda s: s.at)
