"""`courtyard up`: embedded servers where no URL is set, migrations, then the services, in order.

Start order, each stop registered on one ExitStack right after its start, so SIGTERM or Ctrl-C
stops them in reverse: embedded PostgreSQL and broker → migrations and locale defaults → default
rules → (demo: site, people, users) → ingest (waits for its subscription) → rules engine (woken
in-process by ingest's commits) → API (uvicorn in a thread) → (demo: the simulator). Stopping:
the simulator, the API, the rules engine, ingest (drains, commits, acks), then the servers.

The embedded servers are our direct children and also die with us if we are killed. One that
exits on its own is started again (courtyard.supervisor) while every client reconnects. A second
run reuses the data under `settings.data_dir`; one started while another runs on that directory
is refused before it starts anything (courtyard.data_lock).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

import psycopg
import uvicorn
from rich.console import Console
from rich.markup import escape

from courtyard import data_lock, status
from courtyard.cli_text import _
from courtyard.demo import Demo, DemoLogins
from courtyard.embedded import EmbeddedError, EmbeddedMosquitto, EmbeddedPostgres
from courtyard.ports import preferred_port
from courtyard.rule_service import RulesForApi
from courtyard.settings import ConfigError, Settings
from courtyard.supervisor import Supervisor
from ingest.service import IngestService
from rules import ruleset
from rules.definitions import RuleFileError
from rules.service import RulesService
from store import migrate, server
from store.access import languages, users

logger = logging.getLogger(__name__)

#: The database `courtyard up` creates on its embedded server.
EMBEDDED_DATABASE = "courtyard"
MQTT_PORT = 1883
#: Ingest subscribes before anything may publish: a first run has no broker session yet, so
#: what is published before the subscription would be lost.
_SUBSCRIBE_TIMEOUT_S = 30.0


class _Stopped(Exception):
    """SIGTERM or Ctrl-C arrived while starting: unwind what has started."""


def run(settings: Settings, *, demo: Demo | None = None) -> int:
    """Run everything until SIGTERM or Ctrl-C; 0 after a clean stop, 1 if a service failed.
    ConfigError, before anything starts, while another `courtyard up` runs on the data
    directory."""
    with data_lock.hold(settings.data_dir):
        return _run(settings, demo)


def _run(settings: Settings, demo: Demo | None) -> int:
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("received signal %d; stopping", signum)
        stopping.set()

    def step() -> None:
        if stopping.is_set():
            raise _Stopped

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # soft_wrap: a URL or a token must stay on one line, whatever the terminal's width.
    console = Console(stderr=True, soft_wrap=True)
    _check_http_port(settings)
    try:
        with contextlib.ExitStack() as stack:
            supervisor = Supervisor()
            settings = _servers(settings, stack, step, supervisor)
            backend = _prepare_database(settings)
            step()
            logins = None
            if demo is not None:
                settings = demo.configure(settings)
                logins = demo.provision(settings.store)
            step()
            clock = demo.clock(settings.rules) if demo is not None else None
            rules = RulesService(settings.rules, settings.store, settings.notify, clock=clock)
            ingest = IngestService(settings.ingest, settings.store, on_committed=rules.wake)
            ingest.start()
            stack.callback(ingest.stop)
            if not _wait(ingest.subscriber.subscribed, stopping, _SUBSCRIBE_TIMEOUT_S):
                step()
                raise ConfigError(
                    _("Ingest could not subscribe at {url} within {seconds} seconds.").format(
                        url=settings.mqtt_url, seconds=int(_SUBSCRIBE_TIMEOUT_S)
                    )
                )
            rules.start()
            stack.callback(rules.stop)
            step()
            api = ApiServer(settings)
            stack.callback(api.stop)  # first: a start that times out leaves uvicorn starting
            api.start(stopping)
            stack.enter_context(status.running_record(settings, api.url))
            step()
            simulator = None
            if demo is not None:
                simulator = demo.simulator(settings.mqtt_url)
                simulator.start()
                stack.callback(simulator.stop)
            console.print(_running(backend, settings, api.url, logins))
            while not stopping.wait(0.5):
                supervisor.poll()
                failed = _failure(
                    {
                        "ingest": ingest.failed,
                        "the rules engine": rules.failed,
                        "the API": api.failed,
                        "the demo simulator": simulator.failed if simulator else None,
                    }
                )
                if failed is not None:
                    logger.error("stopping everything: %s", failed)
                    return 1
    except _Stopped:
        logger.info("stopped while starting")
    except EmbeddedError as exc:  # its message says what to install or where to put the data
        raise ConfigError(str(exc)) from None
    return 0


def _failure(failures: dict[str, BaseException | str | None]) -> str | None:
    """The first service that stopped on its own, and why."""
    for name, failed in failures.items():
        if failed is not None:
            return f"{name} failed: {failed!r}"
    return None


def _wait(event: threading.Event, stopping: threading.Event, timeout_s: float) -> bool:
    """Wait for `event`, giving up early when we are asked to stop."""
    waited = 0.0
    while not event.wait(0.1):
        waited += 0.1
        if stopping.is_set() or waited >= timeout_s:
            return False
    return True


def _check_http_port(settings: Settings) -> None:
    """Fail before starting anything when the API's port is taken."""
    if preferred_port(settings.http_port, settings.http_host) != settings.http_port:
        raise ConfigError(
            _(
                "Port {port} on {host} is in use: stop what listens there or set"
                " COURTYARD_HTTP_PORT to a free port."
            ).format(port=settings.http_port, host=settings.http_host)
        )


def _prepare_database(settings: Settings) -> str:
    """Migrations, the locale defaults and, into an empty rules table, the default rules."""
    report = migrate.run_from_settings(settings.store)
    with psycopg.connect(settings.store.url) as conn:
        languages.apply_defaults(conn, settings.locale)
        conn.commit()
        try:
            ruleset.install(conn, settings.rules.rules_file)
        except RuleFileError as exc:
            raise ConfigError(str(exc)) from None
    return report.backend


def _running(backend: str, settings: Settings, api_url: str, logins: DemoLogins | None) -> str:
    """What `courtyard up` says once everything runs (rich markup around translated text)."""
    lines = [
        _("Devices publish to {url} (courtyard/v1/<site>/<device>/...)").format(
            url=settings.mqtt_url
        ),
        _("Readings are stored in {url}").format(
            url=status.without_password(settings.database_url)
        ),
        _("The dashboard is at {url}").format(url=api_url),
        *(_login_lines(settings, api_url) if logins is None else logins.lines(api_url)),
    ]
    first = escape(_("Courtyard is running ({backend}).").format(backend=backend))
    stop = escape(_("Press Ctrl-C to stop."))
    body = [f"  {escape(line)}" for line in lines]
    return "\n".join([f"[bold green]{first}[/]", *body, stop])


def _login_lines(settings: Settings, api_url: str) -> list[str]:
    if asyncio.run(_anyone_can_log_in(settings.store.url)):
        return [_("Log in at {url} with your user id and password.").format(url=api_url + "login")]
    command = (
        f"COURTYARD_DATABASE_URL={settings.database_url} "
        "courtyard users add admin --role admin --password"
    )
    return [
        _("Nobody can log in yet. Create an administrator with:"),
        f"  {command}",
        _("(or run `courtyard up --demo` for a simulated community with demo users)"),
    ]


async def _anyone_can_log_in(url: str) -> bool:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        return await users.anyone_can_log_in(conn)


def _servers(
    settings: Settings,
    stack: contextlib.ExitStack,
    step: Callable[[], None],
    supervisor: Supervisor,
) -> Settings:
    """Start an embedded server for each URL that is unset, under `supervisor`; return settings
    pointing at them.

    From the main thread: an embedded server dies with the thread that started it."""
    database_url, mqtt_url = settings.database_url, settings.mqtt_url
    if not database_url:
        postgres = stack.enter_context(EmbeddedPostgres(settings.data_dir / "postgres"))
        supervisor.watch("PostgreSQL", postgres)
        database_url = _ensure_database(postgres.url, EMBEDDED_DATABASE)
        step()
    if not mqtt_url:
        # The standard MQTT port when it is free, so devices keep one address across runs.
        port = preferred_port(MQTT_PORT)
        broker = stack.enter_context(EmbeddedMosquitto(settings.data_dir / "mosquitto", port))
        supervisor.watch(broker.backend, broker)
        mqtt_url = broker.url
        step()
    return settings.with_urls(database_url, mqtt_url)


def _ensure_database(server_url: str, name: str) -> str:
    with psycopg.connect(server_url, autocommit=True) as conn:
        server.create_database_unless_exists(conn, name)
    return server_url.rsplit("/", 1)[0] + "/" + name


class ApiServer:
    """The API under uvicorn in the thread `courtyard-api`; `stop()` sets `should_exit`.

    uvicorn installs no signal handlers outside the main thread: our handlers stay in charge.
    """

    #: Open SSE streams and slow requests get this long once asked to stop.
    GRACEFUL_S = 5

    def __init__(self, settings: Settings) -> None:
        from api.app import create_app

        app = create_app(settings.api, settings.store, rule_service=RulesForApi(settings.store))
        config = uvicorn.Config(
            app,
            host=settings.http_host,
            port=settings.http_port,
            log_config=None,
            log_level=settings.log_level.lower(),
            # One line per request would bury what `courtyard up` says; /metrics counts them.
            access_log=False,
            timeout_graceful_shutdown=self.GRACEFUL_S,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name="courtyard-api", daemon=True)
        self._stopping = False
        self._error: BaseException | None = None
        host = "127.0.0.1" if settings.http_host in ("0.0.0.0", "::", "") else settings.http_host
        self.url = f"http://{host}:{settings.http_port}/"

    @property
    def failed(self) -> BaseException | str | None:
        """Why the server ended without being asked to (None while it serves)."""
        if self._error is not None:
            return self._error
        if self._thread.ident is not None and not self._thread.is_alive() and not self._stopping:
            return "uvicorn stopped"
        return None

    def start(self, stopping: threading.Event | None = None, timeout_s: float = 60.0) -> None:
        """Serve, and return once uvicorn listens (the app's lifespan has started)."""
        self._thread.start()
        waited = 0.0
        while not self._server.started:
            if not self._thread.is_alive() or waited >= timeout_s:
                raise ConfigError(
                    _("The API could not start on {url} (see the log above).").format(url=self.url)
                )
            if stopping is not None and stopping.is_set():
                return
            self._thread.join(0.05)
            waited += 0.05

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stopping = True
        self._server.should_exit = True
        if self._thread.ident is None:
            return  # never started
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            logger.warning("the API did not stop within %.0f s", timeout_s)

    def _serve(self) -> None:
        try:
            self._server.run()
        except BaseException as exc:  # SystemExit too: uvicorn exits when it cannot bind
            self._error = exc
