"""Store maintenance, one family of scheduled jobs: late hours into the rollup, retention, the
committed-batch feed's pruning and packing closed weeks for charts. `JOBS` says what runs and
how often; `StoreMaintenance` runs them on an APScheduler scheduler, started and stopped by the
ingest service.

Each run opens a short connection of its own (autocommit: the late-hours refresh refuses a
transaction block; the rest runs in short transactions of its own). A failure is logged and the
job tries again at its next run. Every job is safe to run from several ingest workers at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from psycopg.rows import TupleRow

from store import retention
from store.pool import conninfo
from store.readings import feed, hourly_packs, late_hours
from store.settings import StoreSettings

logger = logging.getLogger(__name__)

Connection = psycopg.Connection[TupleRow]

#: The first runs come this long after start: a store migrated to packs gets its history
#: packed, without slowing the start itself.
FIRST_RUN_S = 60.0


@dataclass(frozen=True, slots=True)
class Job:
    #: Stable: the scheduler replaces a job of the same id rather than adding a second.
    id: str
    interval_s: float
    #: The work, on an autocommit connection; raises psycopg errors.
    work: Callable[[Connection, StoreSettings], object]

    def run(self, store: StoreSettings) -> None:
        """One run on a connection of its own. Raises psycopg errors."""
        with psycopg.connect(
            conninfo(store, f"courtyard-{self.id.replace(':', '-')}"), autocommit=True
        ) as conn:
            self.work(conn, store)


def _refresh_late_hours(conn: Connection, store: StoreSettings) -> object:
    return late_hours.refresh(conn, store.retention_days)


def _prune_past_retention(conn: Connection, store: StoreSettings) -> object:
    return retention.prune(conn, store.retention_days)


def _prune_feed(conn: Connection, store: StoreSettings) -> object:
    with conn.transaction():
        return feed.prune(conn, store.feed_keep_h * 3600)


def _pack_closed_weeks(conn: Connection, store: StoreSettings) -> object:
    return hourly_packs.pack(conn)


#: Late readings reach the rollup within about this long (TimescaleDB; a no-op elsewhere).
LATE_HOURS = Job("store-maintenance:late-hours", 300.0, _refresh_late_hours)
RETENTION = Job("store-maintenance:retention", 3600.0, _prune_past_retention)
#: Only here is the feed pruned: as often as a rules engine refreshes by default (15 s), so the
#: batches every engine has passed go within seconds and the feed stays a few rows long.
FEED = Job("store-maintenance:feed", 15.0, _prune_feed)
#: Weeks close 4 days after their end; the late-hours refresh queues the weeks it touched.
PACKS = Job("store-maintenance:packs", 3600.0, _pack_closed_weeks)
JOBS = (LATE_HOURS, RETENTION, FEED, PACKS)


def run_logged(job: Job, store: StoreSettings) -> None:
    """What the scheduler calls: `job.run`, its failure logged (the next run tries again)."""
    try:
        job.run(store)
    except psycopg.Error as exc:
        logger.warning(
            "store maintenance failed: %s (%s); trying again at its next run", job.id, exc
        )
    except Exception:
        logger.exception("store maintenance failed: %s; trying again at its next run", job.id)


def schedule(scheduler: BaseScheduler, store: StoreSettings, first_run_at: datetime) -> None:
    """Add the family to `scheduler`: every job first at `first_run_at`, then at its interval."""
    for job in JOBS:
        scheduler.add_job(
            run_logged,
            "interval",
            args=(job, store),
            id=job.id,
            name=job.id,
            seconds=job.interval_s,
            next_run_time=first_run_at,
            # Runs missed while one was still going, or while the host was suspended, become
            # one; a run later than its interval is dropped, as the next is due anyway.
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, round(job.interval_s)),
            replace_existing=True,
        )


class StoreMaintenance:
    """The family on a scheduler of its own: `start()` after the service's other threads,
    `stop()` waits for a run in progress, then no thread of it is left."""

    def __init__(self, store: StoreSettings, *, first_run_s: float = FIRST_RUN_S) -> None:
        self._store = store
        self._first_run_s = first_run_s
        # One thread a job: a long first packing does not hold back the feed's pruning.
        executor = ThreadPoolExecutor(
            len(JOBS), pool_kwargs={"thread_name_prefix": "courtyard-maintenance"}
        )
        self._scheduler = BackgroundScheduler(timezone=UTC, executors={"default": executor})

    def start(self) -> None:
        first_run_at = datetime.now(UTC) + timedelta(seconds=self._first_run_s)
        schedule(self._scheduler, self._store, first_run_at)
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
