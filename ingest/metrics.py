"""Prometheus metrics of ingest: what came in, was refused, waits, and how long writes take."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RECEIVED = Counter("courtyard_ingest_messages_received", "MQTT messages taken from the inbox")
REJECTED = Counter("courtyard_ingest_messages_rejected", "Messages stored as rejects")
DROPPED = Counter(
    "courtyard_ingest_messages_dropped",
    "Messages acknowledged unstored because not even their reject could be stored (see the log)",
)
IGNORED = Counter("courtyard_ingest_messages_ignored", "Valid messages carrying no new data")
READINGS_STORED = Counter("courtyard_ingest_readings_stored", "Readings newly stored")
EVENTS_STORED = Counter("courtyard_ingest_events_stored", "Events newly stored")
READINGS_OVER_SERIES_LIMIT = Counter(
    "courtyard_ingest_readings_over_series_limit",
    "Readings not stored because their device has max_series_per_device series (message rejected)",
)
CONFLICTING_DUPLICATES = Counter(
    "courtyard_ingest_conflicting_duplicates",
    "Readings not stored because another value is stored for their series and time "
    "(message rejected)",
)
UNDELIVERED = Gauge(
    "courtyard_ingest_messages_undelivered", "Messages received but not yet acknowledged"
)
ACKS_DROPPED = Counter(
    "courtyard_ingest_acks_dropped",
    "Stored messages not acknowledged because their connection was gone (broker redelivers)",
)
INBOX_FULL = Counter(
    "courtyard_ingest_inbox_full", "Times the MQTT thread waited for room in the inbox"
)
WRITE_RETRIES = Counter(
    "courtyard_ingest_write_retries", "Batch writes retried after a transient error"
)
BATCH_SECONDS = Histogram(
    "courtyard_ingest_batch_seconds",
    "Time to decode, write and commit one batch",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
