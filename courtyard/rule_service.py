"""The API's RuleService, implemented with the rules package (the API may not import it).

`validate` checks a definition the way the rules file and the engine do; `backtest` runs it over
stored history without writing anything. The API's definitions may name one site (`site_id`):
it replaces the scope's sites, as it does when the engine reads the rule back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from api.services import BacktestSignal, FieldError, RuleDefinition
from rules import backtest, directory
from rules.definitions import RuleDefinition as Definition
from rules.definitions import check_definition
from store.rule_defs import scope_with_site
from store.settings import StoreSettings


def _raw(definition: RuleDefinition) -> dict[str, Any]:
    """The definition as the rules engine will read it back from the table (from_records)."""
    return {
        "id": definition.id,
        "kind": definition.kind,
        "description": definition.description,
        "category": definition.category,
        "severity": definition.severity,
        "enabled": definition.enabled,
        "scope": scope_with_site(definition.scope, definition.site_id),
        "params": dict(definition.params),
        "auto_resolve": definition.auto_resolve,
        "notify": dict(definition.notify),
    }


class RulesForApi:
    def __init__(self, store: StoreSettings) -> None:
        self._store = store

    def validate(self, definition: RuleDefinition) -> list[FieldError]:
        _, problems = check_definition(_raw(definition))
        return [FieldError(field, message) for field, message in problems]

    def backtest(
        self, definition: RuleDefinition, start: datetime, end: datetime
    ) -> list[BacktestSignal]:
        checked, problems = check_definition(_raw(definition))
        if checked is None:
            raise ValueError("; ".join(f"{f}: {m}" for f, m in problems))
        return self._signals(checked, start, end)

    def _signals(
        self, definition: Definition, start: datetime, end: datetime
    ) -> list[BacktestSignal]:
        # Autocommit: on TimescaleDB the backtest refreshes the rollup first (rules.backtest).
        with psycopg.connect(self._store.url, autocommit=True) as conn:
            places = directory.load(conn, definition.scope.sites or None)
            report = backtest.backtest(conn, definition, start, end, places)
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
