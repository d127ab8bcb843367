"""Store maintenance the ingest service runs in the background: late hours into the rollup,
retention, the feed's pruning, and packing closed weeks for charts.

`run(store, prune=...)` is one pass on its own connection; the service calls it every
LATE_HOURS_INTERVAL_S, with the hourly work (prune=True) every PRUNE_INTERVAL_S.
"""

from __future__ import annotations

import psycopg

from store import retention
from store.readings import feed, hourly_packs, late_hours
from store.settings import StoreSettings

#: Late readings reach the rollup within about this long (TimescaleDB; a no-op elsewhere).
LATE_HOURS_INTERVAL_S = 300.0
PRUNE_INTERVAL_S = 3600.0
#: The first pass, soon after start: a store migrated to packs gets its history packed.
FIRST_PASS_S = 60.0


def run(store: StoreSettings, *, prune: bool = True) -> None:
    """One maintenance pass. Raises psycopg errors (the caller logs and tries again later)."""
    # Autocommit: refresh_continuous_aggregate refuses a transaction block; everything else
    # here runs in short transactions of its own.
    with psycopg.connect(
        store.url, autocommit=True, application_name="courtyard-retention"
    ) as conn:
        late_hours.refresh(conn, store.retention_days)
        if not prune:
            return
        retention.prune(conn, store.retention_days)
        with conn.transaction():
            feed.prune(conn, store.feed_keep_h * 3600)
        hourly_packs.pack(conn)
