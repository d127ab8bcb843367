"""Prometheus metrics of the rules engine."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

BATCHES = Counter("courtyard_rules_batches", "Committed batches evaluated")
TICKS = Counter("courtyard_rules_ticks", "Timer ticks evaluated")
SIGNALS = Counter("courtyard_rules_signals", "Signals emitted by rules")
ALERT_CHANGES = Counter(
    "courtyard_rules_alert_changes", "Alert changes made by the engine", ["change"]
)
RULE_ERRORS = Counter("courtyard_rules_rule_errors", "Rule evaluations that raised")
FEED_LAG = Gauge("courtyard_rules_feed_lag_batches", "Committed batches not yet evaluated")
OWNED_SITES = Gauge("courtyard_rules_owned_sites", "Sites this engine evaluates")
ALERTS = Gauge("courtyard_alerts", "Alerts by status (all sites, read from the store)", ["status"])
OUTBOX_BACKLOG = Gauge(
    "courtyard_notifications_backlog", "Notifications waiting to be delivered (all channels)"
)
