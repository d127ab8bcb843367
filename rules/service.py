"""RulesService: runs the Engine on the committed-batch feed, timers and site ownership.

APScheduler does the scheduling. The work itself is its jobs, each with a stable id, coalesced,
one instance at a time, and a misfire grace time:

- FEED_JOB reads the feed: every `FEED_POLL_S`, and at once when a NOTIFY on the feed channel
  arrives (thread `courtyard-rules-listen`) or ingest in the same process wakes it (`wake`).
  The periodic run catches a NOTIFY missed while the listener reconnects. When a feed batch
  names a site this engine has not listed yet, the sites are listed and shared out first, so a
  new site's first data is evaluated within a poll.
- TICK_JOB lets time pass for the rules, ESCALATE_JOB escalates and reminds, REFRESH_JOB reloads
  rule definitions, the directory and site ownership: every `tick_s`, `escalation_tick_s`,
  `refresh_s`.
- CONNECT_JOB, a one-off, opens the engine's connections, joins the site ownership, refreshes,
  catches up with the feed and resumes the periodic jobs, which are paused until it succeeds.

The jobs run on the scheduler's executor, a thread pool of one worker: that worker,
`courtyard-rules`, is the engine thread. The engine's connection is single-threaded, and with
one worker no two jobs ever run at once, so the jobs reach the engine directly: no queue, no
lock. (Jobs that post onto an engine thread's queue would need that thread to merge repeated
work, which `coalesce` and `max_instances` already do here.) A wake-up is
`modify_job(FEED_JOB, next_run_time=now)`; one that comes while a job runs (the scheduler would
refuse a second instance) is served by that job: it reads the feed before it returns.

On a database error a job drops the connections (and with them the advisory locks, so other
engines take its sites over), pauses the periodic jobs and schedules CONNECT_JOB after a capped
backoff (store.backoff): the engine starts again from what the store holds, the state and
cursors of the last commit. The other threads are the listener and the notification
dispatcher's. `courtyard rules` is `run()`.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Protocol

import psycopg
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from psycopg.rows import TupleRow

from rules import directory as directory_module
from rules import metrics
from rules.clock import Clock, clock_for
from rules.directory import Directory
from rules.engine import Engine, EngineRule, OnOutcomes
from rules.lifecycle import Outcome
from rules.notify import escalation, fanout
from rules.notify.dispatcher import Dispatcher as OutboxDispatcher
from rules.notify.dispatcher import senders_for
from rules.notify.settings import NotifySettings
from rules.ownership import SiteOwnership
from rules.policy import NotifyPolicy
from rules.ruleset import StoredRules
from rules.settings import RulesSettings
from store.alerts import alert_counts, outbox
from store.backoff import Backoff
from store.places.directory import sites as list_sites
from store.pool import conninfo
from store.readings import feed
from store.settings import StoreSettings

logger = logging.getLogger(__name__)

Connection = psycopg.Connection[TupleRow]
#: Loads the enabled rule definitions and compiles them against the directory.
RuleCompiler = Callable[[Connection, Directory], Sequence[EngineRule]]
#: Escalates due alerts and sends due reminders of the given sites, in the caller's transaction.
Escalator = Callable[[Connection, datetime, Callable[[str], NotifyPolicy], Collection[str]], object]


class Dispatcher(Protocol):
    def run_forever(self, stop: threading.Event) -> None: ...


FEED_JOB = "rules-feed"
TICK_JOB = "rules-tick"
ESCALATE_JOB = "rules-escalate"
REFRESH_JOB = "rules-refresh"
CONNECT_JOB = "rules-connect"
_PERIODIC_JOBS = (FEED_JOB, TICK_JOB, ESCALATE_JOB, REFRESH_JOB)

#: How often the feed is read without a NOTIFY: what a missed NOTIFY costs at most.
FEED_POLL_S = 1.0
#: A run held up longer than this behind other work (a long catch-up with the feed) is
#: dropped; the job's next run comes within its interval.
MISFIRE_GRACE_S = 30.0
#: Reconnection waits double from 0.5 s up to this: the engine is back within seconds of the
#: database's return, however long it was away.
_MAX_BACKOFF_S = 2.0


@dataclass(frozen=True, slots=True)
class _Session:
    """What the engine thread holds while the database is there."""

    conn: Connection
    locks_conn: Connection
    ownership: SiteOwnership
    engine: Engine

    def close(self) -> None:
        for conn in (self.conn, self.locks_conn):
            with contextlib.suppress(psycopg.Error):
                conn.close()


class RulesService:
    def __init__(
        self,
        settings: RulesSettings,
        store: StoreSettings,
        notify: NotifySettings | None = None,
        *,
        compile_rules: RuleCompiler | None = None,
        on_outcomes: OnOutcomes | None = None,
        escalate: Escalator | None = None,
        dispatcher: Dispatcher | None = None,
        clock: Clock | None = None,
    ) -> None:
        """By default the rules come from the `rules` table, alert changes are fanned out to
        the outbox, escalations run on their timer and, with `settings.dispatch`, this process
        delivers the outbox; each can be replaced (tests, backtests)."""
        self._settings = settings
        self._store = store
        self._compile_rules = compile_rules or StoredRules()
        self._on_outcomes = on_outcomes or self._fan_out
        self._escalate = escalate or self._escalate_due
        notify = notify or NotifySettings()
        if dispatcher is None and settings.dispatch:
            dispatcher = OutboxDispatcher(store, senders_for(notify), notify)
        self._dispatcher = dispatcher
        self.clock = clock or clock_for(settings)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(1, {"thread_name_prefix": "courtyard-rules"})},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": MISFIRE_GRACE_S,
            },
            timezone="UTC",
        )
        self._backoff = Backoff(_MAX_BACKOFF_S)
        #: Set and read on the engine thread only.
        self._session: _Session | None = None
        #: Guards the three below, which wake-ups from other threads read.
        self._lock = threading.Lock()
        #: The periodic jobs run (not paused for an outage, not stopping).
        self._online = False
        #: A job runs on the engine thread; `_idle` is its opposite, to wait on.
        self._busy = False
        self._idle = threading.Event()
        self._idle.set()
        #: A wake-up came while a job ran: it reads the feed before it returns.
        self._woken = False
        self.engine: Engine | None = None
        self._batches_counted = 0
        #: The sites listed at the last refresh.
        self._known_sites: frozenset[str] = frozenset()
        #: The feed id up to which every site the feed names is in `_known_sites`.
        self._sites_seen_to = 0
        self.failed: BaseException | None = None
        #: Set once the engine has owned its sites and caught up with the feed at least once.
        self.ready = threading.Event()

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        self._spawn(self._run_listener, "courtyard-rules-listen")
        if self._dispatcher is not None:
            dispatcher = self._dispatcher
            self._spawn(lambda: dispatcher.run_forever(self._stop), "courtyard-rules-dispatch")
        s = self._settings
        periodic = (
            (FEED_JOB, self._read_feed, FEED_POLL_S),
            (TICK_JOB, self._tick, s.tick_s),
            (ESCALATE_JOB, self._escalate_now, s.escalation_tick_s),
            (REFRESH_JOB, self._refresh_now, s.refresh_s),
        )
        for job_id, work, every_s in periodic:
            self._scheduler.add_job(
                self._job,
                "interval",
                (work,),
                id=job_id,
                name=job_id,
                seconds=every_s,
                next_run_time=None,  # paused until CONNECT_JOB succeeds
                replace_existing=True,
            )
        self._schedule_connect(datetime.now(UTC))
        self._scheduler.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        with self._lock:
            self._online = False
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        # The job in hand ends soon (the feed job stops between pages); later ones do nothing.
        if self._idle.wait(timeout_s):
            self._close_session()  # no job uses the connections any more
        else:
            logger.warning("the rules engine's job did not end within %.0f s", timeout_s)
        for thread in self._threads:
            thread.join(timeout_s)
        close = getattr(self._dispatcher, "close", None)
        if close is not None:
            close()
        logger.info("rules engine stopped")

    def wake(self) -> None:
        """New committed data (a NOTIFY, or the in-process hand-off from ingest): read the
        feed now. Returns at once."""
        with self._lock:
            if self._busy:
                self._woken = True
            elif self._online:
                self._scheduler.modify_job(FEED_JOB, next_run_time=datetime.now(UTC))

    def _fan_out(self, conn: Connection, outcomes: Sequence[Outcome], now: datetime) -> None:
        engine = self.engine
        assert engine is not None
        fanout.enqueue_for_outcomes(conn, outcomes, engine.policy_of, now)

    @staticmethod
    def _escalate_due(
        conn: Connection,
        now: datetime,
        policy_of: Callable[[str], NotifyPolicy],
        sites: Collection[str],
    ) -> None:
        escalation.tick(conn, now, policy_of, sites)

    # -- jobs (on the engine thread) ---------------------------------------------------------

    def _job(self, work: Callable[[], None]) -> None:
        """Every job's body: `work`, then the feed while wake-ups came meanwhile."""
        with self._lock:
            self._busy = True
            self._idle.clear()
        while True:
            self._guarded(work)
            with self._lock:
                if not self._woken or self._session is None or self._stop.is_set():
                    self._busy = self._woken = False
                    self._idle.set()
                    return
                self._woken = False
            work = self._read_feed

    def _guarded(self, work: Callable[[], None]) -> None:
        try:
            work()
        except psycopg.OperationalError as exc:
            self._lost(exc)
        except BaseException as exc:
            self.failed = exc
            logger.exception("rules engine stopped on an error it cannot handle")
            self._stop.set()
            with self._lock:
                self._online = False
            self._close_session()

    def _connect(self) -> None:
        if self._stop.is_set():
            return
        with contextlib.ExitStack() as on_failure:
            conn = self._open("engine")
            on_failure.callback(conn.close)
            locks_conn = self._open("locks")
            on_failure.callback(locks_conn.close)
            ownership = SiteOwnership(locks_conn)
            ownership.join()
            engine = Engine(conn, self.clock, self._on_outcomes)
            on_failure.pop_all()
        session = _Session(conn, locks_conn, ownership, engine)
        self._session = session
        self.engine = engine
        self._batches_counted = 0
        self._refresh(session)
        self._read_feed()
        self._backoff.reset()
        with self._lock:
            if self._stop.is_set():
                return
            self._online = True
            for job_id in _PERIODIC_JOBS:
                self._scheduler.resume_job(job_id)

    def _lost(self, exc: psycopg.OperationalError) -> None:
        """Drop the connections (and the advisory locks) and connect again after a backoff."""
        wait_s = self._backoff.next()
        logger.warning("rules engine lost the database (%s); retry in %.1fs", exc, wait_s)
        with self._lock:
            self._online = False
            if not self._stop.is_set():
                for job_id in _PERIODIC_JOBS:
                    self._scheduler.pause_job(job_id)
                self._schedule_connect(datetime.now(UTC) + timedelta(seconds=wait_s))
        self._close_session()

    def _schedule_connect(self, at: datetime) -> None:
        self._scheduler.add_job(
            self._job,
            "date",
            (self._connect,),
            id=CONNECT_JOB,
            name=CONNECT_JOB,
            run_date=at,
            misfire_grace_time=None,  # however late: nothing else brings the engine back
            replace_existing=True,
        )

    def _read_feed(self) -> None:
        session = self._session
        if session is None or self._stop.is_set():
            return
        if self._feed_names_new_sites(session.conn):
            self._refresh(session)
        limit = self._settings.batch_limit
        while session.engine.poll(limit) == limit:
            if self._stop.is_set():
                return
        self._record(session)
        self.ready.set()

    def _tick(self) -> None:
        session = self._session
        if session is None or self._stop.is_set():
            return
        session.engine.tick()
        metrics.TICKS.inc()

    def _escalate_now(self) -> None:
        session = self._session
        if session is None or self._stop.is_set() or not session.engine.sites:
            return
        with session.conn.transaction():
            self._escalate(
                session.conn, self.clock.now(), session.engine.policy_of, session.engine.sites
            )

    def _refresh_now(self) -> None:
        session = self._session
        if session is None or self._stop.is_set():
            return
        self._refresh(session)

    # -- internals -----------------------------------------------------------------------

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _open(self, purpose: str) -> Connection:
        return psycopg.connect(conninfo(self._store, f"courtyard-rules-{purpose}"), autocommit=True)

    def _close_session(self) -> None:
        session, self._session = self._session, None
        self.engine = None
        if session is not None:
            session.close()

    def _feed_names_new_sites(self, conn: Connection) -> bool:
        """Whether batches since the last look name a site not known at the last refresh."""
        with conn.transaction():
            seen_to, named = feed.sites_after(conn, self._sites_seen_to)
        self._sites_seen_to = seen_to
        new = named - self._known_sites
        if new:
            logger.info("the feed names %d sites new to this engine: refreshing", len(new))
        return bool(new)

    def _refresh(self, session: _Session) -> None:
        conn, engine, ownership = session.conn, session.engine, session.ownership
        with conn.transaction():
            # The feed's end first: the sites its batches name are listed by then (ingest adds
            # a site in the transaction that appends its batch).
            seen_to = feed.latest_id(conn)
            site_ids = [s.id for s in list_sites(conn)]
        self._known_sites = frozenset(site_ids)
        self._sites_seen_to = seen_to
        change = ownership.refresh(site_ids)
        directory = directory_module.load(conn, ownership.sites)
        engine.set_rules(self._compile_rules(conn, directory), directory)
        if change or not engine.sites and ownership.sites:
            engine.set_sites(ownership.sites, gained=change.gained)
            logger.info(
                "rules engine (slot %s) owns %d sites (+%d -%d)",
                ownership.slot, len(ownership.sites), len(change.gained), len(change.lost),
            )  # fmt: skip
        metrics.OWNED_SITES.set(len(ownership.sites))
        self._record_store(conn)

    def _record(self, session: _Session) -> None:
        stats = session.engine.stats
        metrics.BATCHES.inc(stats.batches - self._batches_counted)
        self._batches_counted = stats.batches
        with session.conn.transaction():
            metrics.FEED_LAG.set(feed.backlog(session.conn))

    @staticmethod
    def _record_store(conn: Connection) -> None:
        with conn.transaction():
            for status, count in alert_counts.count_by_status(conn).items():
                metrics.ALERTS.labels(status).set(count)
            metrics.OUTBOX_BACKLOG.set(outbox.backlog(conn))

    def _run_listener(self) -> None:
        while not self._stop.is_set():
            try:
                with self._open("listen") as conn:
                    feed.listen(conn)
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self.wake()
            except psycopg.OperationalError as exc:
                logger.debug("feed listener reconnecting after %s", exc)
                if self._stop.wait(1.0):
                    return


def run(service: RulesService) -> int:
    """`courtyard rules`: run until SIGTERM or SIGINT; returns the exit status."""
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("received signal %d; stopping", signum)
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    service.start()
    while not stopping.wait(0.5):
        if service.failed is not None:
            break
    service.stop()
    return 1 if service.failed is not None else 0


def wait_ready(service: RulesService, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    return service.ready.wait(max(0.0, deadline - time.monotonic()))
