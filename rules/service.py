"""RulesService: runs the Engine on the committed-batch feed, timers and site ownership.

Threads:
- `courtyard-rules`: the engine loop. It owns the engine's connection and does all database
  work: feed batches, ticks, escalation, refreshes. Anything that happens elsewhere (a NOTIFY, an
  in-process hand-off from ingest, an apscheduler timer) only sets a flag and wakes it.
- `courtyard-rules-listen`: LISTENs on the feed channel.
- apscheduler's timer thread, and the notification dispatcher's.

Sites are listed and shared out every `refresh_s`, and at once when a feed batch names a site
this engine has not listed yet: a new site's first data is evaluated within a poll.

On a database error the loop drops its connections (and with them its advisory locks, so other
engines take its sites over), waits with a capped backoff and starts again from what the store
holds: the state and cursors of the last commit. `courtyard rules` is `run()`.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from types import FrameType
from typing import Protocol

import psycopg
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
from store.alerts import outbox
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


#: Reconnection waits double from 0.5 s up to this: the engine is back within seconds of the
#: database's return, however long it was away.
_MAX_BACKOFF_S = 2.0


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
        self._wake = threading.Event()
        self._due = {"tick": False, "escalate": False, "refresh": True, "feed": True}
        self._due_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._scheduler = BackgroundScheduler(timezone="UTC")
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
        self._spawn(self._run_loop, "courtyard-rules")
        self._spawn(self._run_listener, "courtyard-rules-listen")
        if self._dispatcher is not None:
            dispatcher = self._dispatcher
            self._spawn(lambda: dispatcher.run_forever(self._stop), "courtyard-rules-dispatch")
        s = self._settings
        self._scheduler.add_job(self._mark, "interval", ("tick",), seconds=s.tick_s)
        self._scheduler.add_job(self._mark, "interval", ("escalate",), seconds=s.escalation_tick_s)
        self._scheduler.add_job(self._mark, "interval", ("refresh",), seconds=s.refresh_s)
        self._scheduler.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        for thread in self._threads:
            thread.join(timeout_s)
        close = getattr(self._dispatcher, "close", None)
        if close is not None:
            close()
        logger.info("rules engine stopped")

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

    def wake(self, *_: object) -> None:
        """New committed data: the in-process hand-off from ingest (any arguments ignored)."""
        self._mark("feed")

    # -- internals -----------------------------------------------------------------------

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _mark(self, what: str) -> None:
        with self._due_lock:
            self._due[what] = True
        self._wake.set()

    def _take(self, what: str) -> bool:
        with self._due_lock:
            due = self._due[what]
            self._due[what] = False
        return due

    def _run_loop(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                self._serve()
                return
            except psycopg.OperationalError as exc:
                logger.warning("rules engine lost the database (%s); retry in %.1fs", exc, backoff)
            except BaseException as exc:
                self.failed = exc
                logger.exception("rules engine stopped on an error it cannot handle")
                self._stop.set()
                return
            self.engine = None
            if self._stop.wait(backoff):
                return
            backoff = min(backoff * 2, _MAX_BACKOFF_S)
            with self._due_lock:
                self._due.update(refresh=True, feed=True)

    def _connect(self, purpose: str) -> Connection:
        return psycopg.connect(conninfo(self._store, f"courtyard-rules-{purpose}"), autocommit=True)

    def _serve(self) -> None:
        with self._connect("engine") as conn, self._connect("locks") as locks_conn:
            ownership = SiteOwnership(locks_conn)
            ownership.join()
            engine = Engine(conn, self.clock, self._on_outcomes)
            self.engine = engine
            self._batches_counted = 0
            while not self._stop.is_set():
                if self._take("refresh"):
                    self._refresh(conn, engine, ownership)
                if self._take("feed"):
                    if self._feed_names_new_sites(conn):
                        self._refresh(conn, engine, ownership)
                    while engine.poll(self._settings.batch_limit) == self._settings.batch_limit:
                        if self._stop.is_set():
                            return
                    self._record(conn, engine)
                    self.ready.set()
                if self._take("tick"):
                    engine.tick()
                    metrics.TICKS.inc()
                if self._take("escalate") and self._escalate is not None and engine.sites:
                    with conn.transaction():
                        self._escalate(conn, self.clock.now(), engine.policy_of, engine.sites)
                self._wake.wait(1.0)
                self._wake.clear()
                # A missed NOTIFY (listener reconnecting) costs at most this poll.
                self._mark_quietly("feed")

    def _mark_quietly(self, what: str) -> None:
        with self._due_lock:
            self._due[what] = True

    def _feed_names_new_sites(self, conn: Connection) -> bool:
        """Whether batches since the last look name a site not known at the last refresh."""
        with conn.transaction():
            seen_to, named = feed.sites_after(conn, self._sites_seen_to)
        self._sites_seen_to = seen_to
        new = named - self._known_sites
        if new:
            logger.info("the feed names %d sites new to this engine: refreshing", len(new))
        return bool(new)

    def _refresh(self, conn: Connection, engine: Engine, ownership: SiteOwnership) -> None:
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
        engine.prune_feed(self._store.feed_keep_h * 3600)

    def _record(self, conn: Connection, engine: Engine) -> None:
        stats = engine.stats
        metrics.BATCHES.inc(stats.batches - self._batches_counted)
        self._batches_counted = stats.batches
        with conn.transaction():
            metrics.FEED_LAG.set(feed.backlog(conn))

    @staticmethod
    def _record_store(conn: Connection) -> None:
        with conn.transaction():
            counts = dict.fromkeys(("open", "acknowledged", "resolved"), 0)
            for status, count in conn.execute(
                "SELECT status, count(*) FROM alerts GROUP BY status"
            ).fetchall():
                counts[str(status)] = int(count)
            for status, count in counts.items():
                metrics.ALERTS.labels(status).set(count)
            metrics.OUTBOX_BACKLOG.set(outbox.backlog(conn))

    def _run_listener(self) -> None:
        while not self._stop.is_set():
            try:
                with self._connect("listen") as conn:
                    conn.execute(f"LISTEN {feed.CHANNEL}")
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self._mark("feed")
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
