"""maintain_until: the store maintenance thread of an ingest worker (hourly, until stopped):
retention on plain PostgreSQL, the feed's old entries, and packing closed weeks of the hourly
rollup for charts."""

from __future__ import annotations

import logging
import threading

import psycopg

from store import feed, hourly_packs
from store.retention import prune
from store.settings import StoreSettings

logger = logging.getLogger(__name__)

_INTERVAL_S = 3600.0
#: The first round comes soon after start, so a store just migrated to packs gets its history
#: packed without waiting an hour.
_FIRST_ROUND_S = 60.0


def maintain_until(stop: threading.Event, store: StoreSettings) -> None:
    # Plain PostgreSQL has no retention policy of its own; TimescaleDB's prune is a no-op.
    interval = _FIRST_ROUND_S
    while not stop.wait(interval):
        interval = _INTERVAL_S
        try:
            with psycopg.connect(store.url, application_name="courtyard-maintenance") as conn:
                prune(conn, store.retention_days)
                with conn.transaction():
                    feed.prune(conn, store.feed_keep_h * 3600)
                hourly_packs.pack(conn)
        except psycopg.Error as exc:
            logger.warning("store maintenance failed (%s); trying again later", exc)
