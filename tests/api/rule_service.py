"""A small real RuleService for the API tests: threshold rules only, backtested over readings.

The product's service comes from `rules` (wired by courtyard); the API only needs the seam.
"""

from __future__ import annotations

from datetime import datetime

import psycopg

from api.services import BacktestSignal, FieldError
from store.rules.rule_defs import RuleRecord


class ThresholdRuleService:
    def __init__(self, url: str) -> None:
        self._url = url

    def validate(self, definition: RuleRecord) -> list[FieldError]:
        if definition.kind != "threshold":
            return [FieldError("kind", f"unknown rule kind {definition.kind!r}")]
        problems = []
        metric = definition.params.get("metric")
        if not isinstance(metric, str):
            problems.append(FieldError("params.metric", "must name a metric"))
        bounds = [definition.params.get(k) for k in ("above", "below")]
        if all(b is None for b in bounds):
            problems.append(FieldError("params.above", "give above or below"))
        for name, bound in zip(("above", "below"), bounds, strict=True):
            if bound is not None and (
                isinstance(bound, bool) or not isinstance(bound, int | float)
            ):
                problems.append(FieldError(f"params.{name}", "must be a number"))
        return problems

    def event_types_used(self, definition: RuleRecord) -> frozenset[str] | None:
        return frozenset()  # threshold rules read readings only

    def backtest(
        self, definition: RuleRecord, start: datetime, end: datetime
    ) -> list[BacktestSignal]:
        if self.validate(definition):
            raise ValueError("the definition is invalid")
        above = definition.params.get("above")
        below = definition.params.get("below")
        signals: list[BacktestSignal] = []
        firing: set[str] = set()
        with psycopg.connect(self._url) as conn:
            rows = conn.execute(
                """
                SELECT d.site_id, d.device_key, r.ts, r.value
                FROM readings r JOIN series s ON s.id = r.series_id
                JOIN devices d ON d.id = s.device_id
                WHERE s.metric = %s AND r.ts >= %s AND r.ts < %s
                  AND (%s::text IS NULL OR d.site_id = %s)
                ORDER BY r.ts, d.device_key
                """,
                (definition.params["metric"], start, end, definition.site_id, definition.site_id),
            ).fetchall()
        for site, device, ts, value in rows:
            bad = (isinstance(above, int | float) and value > above) or (
                isinstance(below, int | float) and value < below
            )
            if bad != (device in firing):
                (firing.add if bad else firing.discard)(device)
                signals.append(
                    BacktestSignal(
                        at=ts,
                        site_id=site,
                        subject=device,
                        state="firing" if bad else "clear",
                        value=value,
                        metric=str(definition.params["metric"]),
                        summary=f"{device} {'crossed' if bad else 'is back within'} the threshold",
                    )
                )
        return signals
