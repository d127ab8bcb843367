"""`courtyard up --demo`: a simulated community with demo users, replayed up to now, then live.

What a newcomer gets: the `small-community` scenario's site, households and devices; a demo
property manager and an elder-care volunteer who can log in with a known password; a bearer
token for the API; and data that is already a week deep, with alerts, within a minute.

The time line. The scenario is one week whose incidents sit at fixed times of that week. The
demo repeats it back to back on the scenario's own weekly grid (whole weeks after its start,
so weekdays and times of day stay what the scenario says, as tests/e2e do): episode k starts at
`scenario.start + k weeks`. A first run publishes the last seven days, from the episode that
holds `now - 1 week`; the messages before that point are computed but not sent. Because the
scenario repeats weekly, those seven days hold each of its incidents once. The simulator's
clock sends every message whose time has passed at once (the replay runs as fast as ingest
takes it, about a minute and a half on two cores; the first alerts come within seconds) and
waits for the wall clock for the rest: once the replay reaches now, the same run carries on
live at real speed, into the following episodes.

Why the rules engine runs on event time. The replay is old data arriving fast. On the wall
clock every device would look silent for days until its history arrived (offline alerts for
all of them, inactivity alerts for every household) and every hold or silence would be judged
against the wrong now. With `EventClock` the engine's now is the newest event time it has
evaluated, less an allowed lateness (COURTYARD_RULES__EVENT_LATENESS_S, see rules/clock.py):
during the replay it moves through the week with the data, so each rule sees the week as it
happened; once live, it follows the wall clock, that lateness behind. The engine's clock
starts where the data starts, not at the wall clock, so its first ticks raise nothing before
the first batch arrives. The price: if every device stopped publishing, time would stop for
the rules too, and nothing would be reported offline. Fine for a demo; production engines run
on the wall clock (the default of COURTYARD_RULES__CLOCK).

A second run continues the time line instead of writing another copy of the week beside the
first: it resumes after the newest reading stored for the site (replaying the gap since the
last run, at most the last seven days, then live). Provisioning and users are upserts; the demo
passwords are set again, and the previous demo token is revoked before a new one is printed.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from api import cli as api_cli
from api.auth.passwords import hash_password
from courtyard.cli_text import _
from courtyard.provision import Person, provision
from courtyard.settings import Settings
from device_sims.emissions import Outgoing
from device_sims.publisher import MqttSink, PublishError
from device_sims.runner import run as run_scenario
from device_sims.scenario import Scenario, load_scenario
from device_sims.sinks import Sink
from i18n.languages import terminal_language
from rules.clock import Clock, clock_for
from rules.settings import RulesSettings
from store.access import tokens, users
from store.access.users import NewUser, UserError
from store.readings import history
from store.settings import StoreSettings

logger = logging.getLogger(__name__)

SCENARIO = "small-community"
WEEK = timedelta(weeks=1)
MANAGER = "demo-manager"
VOLUNTEER = "demo-volunteer"
#: Printed on the console at every start: a demo is not a deployment.
DEMO_PASSWORD = "courtyard-demo"
TOKEN_NAME = "demo"
TOKEN_DAYS = 7
SIM_CLIENT_ID = "courtyard-demo-sim"
#: Output channels (device_sims.emissions) that carry device availability.
_STATUS_CHANNELS = frozenset({"status", "zigbee2mqtt_availability"})
#: How often a waiting simulator looks whether it should stop.
_STOP_POLL_S = 0.25
#: First and longest wait between attempts to reach the broker at an episode's start.
_CONNECT_RETRY_S = (0.5, 5.0)


@dataclass(frozen=True, slots=True)
class Timeline:
    """Where the demo's simulator starts: in episode `first_episode` of the weekly grid, sending
    only the messages after `resume_after`."""

    first_episode: int
    resume_after: datetime


def plan_timeline(scenario_start: datetime, now: datetime, newest: datetime | None) -> Timeline:
    """Resume after the newest stored reading, but replay at most the last week.

    The scenario repeats weekly, so any week-long window holds each of its incidents once."""
    since = now - WEEK if newest is None else max(newest, now - WEEK)
    return Timeline(math.floor((since - scenario_start) / WEEK), since)


@dataclass(frozen=True, slots=True)
class DemoLogins:
    site: str
    manager: str
    volunteer: str
    households: tuple[str, ...]
    password: str
    token: str

    def lines(self, dashboard_url: str) -> list[str]:
        """What the console says about logging in (translated sentences)."""
        login = dashboard_url + "login"
        return [
            _("Demo: the {site} community replays its last week, then runs live.").format(
                site=self.site
            ),
            _("Log in at {url} as {user} with the password {password} (property manager).").format(
                url=login, user=self.manager, password=self.password
            ),
            _("Or as {user} with the password {password} (volunteer for {households}).").format(
                user=self.volunteer, password=self.password, households=", ".join(self.households)
            ),
            _("API token of {user}, valid {days} days: {token}").format(
                user=self.manager, days=TOKEN_DAYS, token=self.token
            ),
        ]


class Demo:
    """`configure`, then `provision`, then `clock` and `simulator` (as `courtyard up` does)."""

    def __init__(self, scenario: str = SCENARIO, now: Callable[[], datetime] | None = None) -> None:
        self.scenario = load_scenario(scenario)
        self._now = now or (lambda: datetime.now(UTC))
        self.timeline: Timeline | None = None

    def configure(self, settings: Settings) -> Settings:
        """Settings with the scenario's Zigbee2MQTT base mapped to its site, event-time rules."""
        # The demo's people read the dashboard and have no notification channel: a warning
        # about it for every alert change would bury what the console says.
        logging.getLogger("rules.notify.fanout").setLevel(logging.ERROR)
        site = self.scenario.site.id
        bases = {**settings.ingest.zigbee2mqtt_bases, self.scenario.z2m_base: site}
        return settings.model_copy(
            update={
                "ingest": settings.ingest.model_copy(update={"zigbee2mqtt_bases": bases}),
                "rules": settings.rules.model_copy(update={"clock": "event"}),
            }
        )

    def provision(self, store: StoreSettings) -> DemoLogins:
        """Site, households, people, users and a fresh token: all upserts, so reruns are safe."""
        scenario = self.scenario
        households = care_households(scenario)
        language = terminal_language(os.environ)
        people = [
            Person(MANAGER, "Demo manager", "manager", [("manager", None), ("staff", None)],
                   language=language),
            Person(VOLUNTEER, "Demo volunteer", "volunteer", [("primary", h) for h in households],
                   language=language),
        ]  # fmt: skip
        with psycopg.connect(store.url) as conn:
            provision(conn, scenario, people)
            newest = history.newest_reading(conn, scenario.site.id)
        self.timeline = plan_timeline(scenario.start, self._now(), newest)
        site = scenario.site.id
        _ensure_user(store, MANAGER, "Demo manager", "manager", person_id=MANAGER, sites=[site])
        _ensure_user(store, VOLUNTEER, "Demo volunteer", "volunteer", person_id=VOLUNTEER)
        asyncio.run(_revoke_demo_tokens(store, MANAGER))
        token, _info = api_cli.create_token(
            store, user_id=MANAGER, name=TOKEN_NAME, days=TOKEN_DAYS
        )
        return DemoLogins(site, MANAGER, VOLUNTEER, tuple(households), DEMO_PASSWORD, token)

    def clock(self, settings: RulesSettings) -> Clock:
        """The rules engine's: event time, from where the new data begins (see the module)."""
        return clock_for(settings, start=self._planned().resume_after)

    def simulator(self, mqtt_url: str) -> DemoSimulator:
        return DemoSimulator(self.scenario, mqtt_url, self._planned())

    def _planned(self) -> Timeline:
        if self.timeline is None:
            raise RuntimeError("provision the demo first: its time line depends on stored data")
        return self.timeline


def care_households(scenario: Scenario) -> list[str]:
    """The households the volunteer looks after: those of the scenario's care incidents (so
    the volunteer's dashboard has alerts), else the first three."""
    known = [h.id for h in scenario.households]
    chosen = sorted({e.subject for e in scenario.expected_alerts if e.category == "care"})
    return [h for h in chosen if h in known] or known[:3]


def _ensure_user(
    store: StoreSettings,
    user_id: str,
    name: str,
    role: str,
    *,
    person_id: str,
    sites: list[str] | None = None,
) -> None:
    """Add the user, or (a rerun) set its password back to the demo's."""
    try:
        api_cli.add_user(
            store,
            NewUser(user_id=user_id, name=name, role=role, person_id=person_id, sites=sites or []),
            password=DEMO_PASSWORD,
        )
    except UserError:
        if not asyncio.run(_reset_password(store, user_id)):
            raise


async def _reset_password(store: StoreSettings, user_id: str) -> bool:
    async with await psycopg.AsyncConnection.connect(store.url, autocommit=True) as conn:
        return await users.set_password(conn, user_id, hash_password(DEMO_PASSWORD))


async def _revoke_demo_tokens(store: StoreSettings, user_id: str) -> None:
    async with await psycopg.AsyncConnection.connect(store.url, autocommit=True) as conn:
        now = datetime.now(UTC)
        for token in await tokens.tokens_of(conn, user_id):
            if token.name == TOKEN_NAME and token.revoked_at is None:
                await tokens.revoke_token(conn, token.id, now)


class SimulatorStopped(Exception):
    """The simulator was asked to stop (raised inside the runner, out of a send or a pause)."""


class WindowSink:
    """The runner's sink: drops what comes before the window (but statuses), and raises
    SimulatorStopped out of `send` or `idle` once `stop` is set."""

    def __init__(self, sink: Sink, stop: threading.Event, skip_until: float | None) -> None:
        self._sink = sink
        self._stop = stop
        self._skip_until = skip_until

    def send(self, message: Outgoing) -> None:
        if self._stop.is_set():
            raise SimulatorStopped
        # Statuses (retained, few) always go: they carry a device's online/offline state into
        # the window, and ingest stamps them on arrival anyway.
        if (
            self._skip_until is None
            or message.ts > self._skip_until
            or message.channel in _STATUS_CHANNELS
        ):
            self._sink.send(message)

    def idle(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self._stop.is_set():
                raise SimulatorStopped
            self._sink.idle(min(left, _STOP_POLL_S))

    def close(self) -> int:
        return self._sink.close()


class CatchUpClock:
    """Simulated time that is the wall clock's, but never waits for the past: messages whose
    time has passed go out at once (the replay), later ones when their time comes (live)."""

    def __init__(self, sleep: Callable[[float], None]) -> None:
        self._sleep = sleep
        self.live = False

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep_until(self, when: datetime) -> None:
        delay = (when - self.now()).total_seconds()
        if delay > 0:
            if not self.live:
                self.live = True
                logger.info("demo: the history is replayed up to now; the simulation runs live")
            self._sleep(delay)


class DemoSimulator:
    """The scenario's episodes, one after the other, in the thread `courtyard-demo-sim`.

    The messages are computed in a child process (the runner's `in_child`), which ends with
    the episode or when the simulator stops."""

    def __init__(self, scenario: Scenario, mqtt_url: str, timeline: Timeline) -> None:
        self._scenario = scenario
        self._url = mqtt_url
        self._timeline = timeline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="courtyard-demo-sim", daemon=True)
        self.failed: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 60.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            logger.warning("the demo simulator did not stop within %.0f s", timeout_s)
        else:
            logger.info("demo simulator stopped")

    def _run(self) -> None:
        skip_until: float | None = self._timeline.resume_after.timestamp()
        base = self._scenario
        for k in itertools.count(self._timeline.first_episode):
            episode = base.with_overrides(start=base.start + k * WEEK)
            sink = self._connect()
            if sink is None:
                return  # asked to stop while the broker was away
            window = WindowSink(sink, self._stop, skip_until)
            clock = CatchUpClock(window.idle)
            logger.info("demo: episode from %s", episode.start.isoformat())
            try:
                summary = run_scenario(episode, window, clock, in_child=True)
            except SimulatorStopped:
                sink.close()
                return
            except BaseException as exc:  # the engine process died, a bug
                if self._stop.is_set() and isinstance(exc, PublishError):
                    return  # stopped while the sink waited for the broker
                self.failed = exc
                logger.error("the demo simulator stopped: %r", exc)
                if not isinstance(exc, PublishError):
                    sink.close()
                return
            logger.info("demo: episode done, %d messages", summary.total_messages)
            skip_until = None

    def _connect(self) -> MqttSink | None:
        """A sink connected to the broker, trying for as long as it takes; None once asked to
        stop. The sink itself reconnects after a lost connection (`stopped` ends its tries)."""
        delay = _CONNECT_RETRY_S[0]
        while not self._stop.is_set():
            try:
                return MqttSink(
                    self._url,
                    self._scenario.site.id,
                    self._scenario.gateway,
                    SIM_CLIENT_ID,
                    stopped=self._stop.is_set,
                )
            except PublishError as exc:
                logger.warning("demo: broker unreachable (%s); retrying in %.0f s", exc, delay)
            self._stop.wait(delay)
            delay = min(delay * 2, _CONNECT_RETRY_S[1])
        return None
