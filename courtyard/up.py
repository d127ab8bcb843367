"""`courtyard up`: embedded servers where no URL is set, migrations, then the services, in order.

Everything runs in this process and stops in reverse order on SIGTERM or Ctrl-C (an ExitStack):
the embedded servers are our direct children and also die with us if we are killed. A second run
reuses the data under `settings.data_dir`.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from types import FrameType

import psycopg
from psycopg import sql
from rich.console import Console
from rich.markup import escape

from courtyard.cli_text import _
from courtyard.embedded import EmbeddedMosquitto, EmbeddedPostgres
from courtyard.ports import preferred_port
from courtyard.settings import Settings
from ingest.service import IngestService
from store import migrate

logger = logging.getLogger(__name__)

#: The database `courtyard up` creates on its embedded server.
EMBEDDED_DATABASE = "courtyard"
MQTT_PORT = 1883


def run(settings: Settings) -> int:
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("received signal %d; stopping", signum)
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    console = Console(stderr=True)
    with contextlib.ExitStack() as stack:
        settings = _servers(settings, stack)
        report = migrate.run_from_settings(settings.store)
        ingest = IngestService(settings.ingest, settings.store)
        ingest.start()
        stack.callback(ingest.stop)
        console.print(_running(report.backend, settings.mqtt_url, settings.database_url))
        while not stopping.wait(0.5):
            if ingest.failed is not None:
                return 1
    return 0


def _running(backend: str, mqtt_url: str, database_url: str) -> str:
    """What `courtyard up` says once everything runs (rich markup around translated text)."""
    lines = [
        _("Courtyard is running ({backend}).").format(backend=backend),
        _("Devices publish to {url} (courtyard/v1/<site>/<device>/...)").format(url=mqtt_url),
        _("Readings are stored in {url}").format(url=_without_password(database_url)),
        _("Press Ctrl-C to stop."),
    ]
    first, *rest = (escape(line) for line in lines)
    return "\n".join([f"[bold green]{first}[/]", *(f"  {line}" for line in rest[:-1]), rest[-1]])


def _servers(settings: Settings, stack: contextlib.ExitStack) -> Settings:
    """Start an embedded server for each URL that is unset; return settings pointing at them."""
    database_url, mqtt_url = settings.database_url, settings.mqtt_url
    if not database_url:
        postgres = stack.enter_context(EmbeddedPostgres(settings.data_dir / "postgres"))
        database_url = _ensure_database(postgres.url, EMBEDDED_DATABASE)
    if not mqtt_url:
        # The standard MQTT port when it is free, so devices keep one address across runs.
        port = preferred_port(MQTT_PORT)
        broker = stack.enter_context(EmbeddedMosquitto(settings.data_dir / "mosquitto", port))
        mqtt_url = broker.url
    return settings.with_urls(database_url, mqtt_url)


def _ensure_database(server_url: str, name: str) -> str:
    with psycopg.connect(server_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return server_url.rsplit("/", 1)[0] + "/" + name


def _without_password(url: str) -> str:
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"
