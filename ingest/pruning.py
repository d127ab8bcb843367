"""prune_until: the retention thread of an ingest worker (hourly, until stopped)."""

from __future__ import annotations

import logging
import threading

import psycopg

from store import feed
from store.retention import prune
from store.settings import StoreSettings

logger = logging.getLogger(__name__)

_PRUNE_INTERVAL_S = 3600.0


def prune_until(stop: threading.Event, store: StoreSettings) -> None:
    # Plain PostgreSQL has no retention policy of its own; TimescaleDB's prune is a no-op.
    while not stop.wait(_PRUNE_INTERVAL_S):
        try:
            with psycopg.connect(store.url, application_name="courtyard-retention") as conn:
                prune(conn, store.retention_days)
                with conn.transaction():
                    feed.prune(conn, store.feed_keep_h * 3600)
        except psycopg.Error as exc:
            logger.warning("retention pruning failed (%s); trying again later", exc)
