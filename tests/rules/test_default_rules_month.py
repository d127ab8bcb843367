"""The whole default rule set on a simulated month of small-community's homes, no incidents:
the care alerts a volunteer would receive for nothing, per household-month.

The inactivity rule is measured against fixed-silence baselines in test_care_month.py; this
checks that the other care rules (night activity, emergencies, offline home sensors, ...) do not
add false alarms of their own. The bound is the same: more than one call-out for nothing per
home every two months teaches volunteers to shrug alerts off.
"""

from __future__ import annotations

import logging
from collections import Counter

import pytest

from rules import ruleset
from rules.backtest.replay import AlertBook
from rules.registry import compile_rules
from tests.rules.sim_feed import batches, community, directory_of, households_only

pytestmark = pytest.mark.slow
logger = logging.getLogger(__name__)

MONTH_DAYS = 30
MAX_FALSE_PER_HOUSEHOLD_MONTH = 0.5


def test_default_rules_raise_next_to_nothing_on_a_quiet_month_of_homes() -> None:
    scenario = households_only(community(), days=MONTH_DAYS, incidents=False)
    compiled, failed = compile_rules(ruleset.default_definitions(), directory_of(scenario))
    assert not failed
    books = {rule.id: AlertBook() for rule in compiled}
    states = {rule.id: rule.load_state({}) for rule in compiled}
    for batch in batches(scenario):
        for rule in compiled:
            fired, states[rule.id] = rule.evaluate(batch.view, states[rule.id], batch.end)
            books[rule.id].apply(fired, rule.auto_resolve)
    alerts = [a for book in books.values() for a in book.alerts()]
    by_rule = Counter(f"{a.rule}:{a.subject}" for a in alerts)
    households = len(scenario.households)
    per_household_month = len(alerts) / households * (30 / MONTH_DAYS)
    logger.info(
        "default rules, %d homes x %d quiet days: %d alerts (%.2f per household-month) %s",
        households, MONTH_DAYS, len(alerts), per_household_month, dict(by_rule),
    )  # fmt: skip
    assert per_household_month <= MAX_FALSE_PER_HOUSEHOLD_MONTH, by_rule
