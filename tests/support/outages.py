"""A PostgreSQL server a test can stop, restart and freeze without disturbing other tests."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg

from courtyard.embedded import EmbeddedPostgres
from store import migrate

#: Long enough for a reconnection backoff that doubles from one second to reach ~16 s.
OUTAGE_S = 25.0


@contextlib.contextmanager
def own_postgres(data_dir: Path) -> Iterator[EmbeddedPostgres]:
    """A started server in `data_dir`, stopped (thawed first if frozen) at the end."""
    server = EmbeddedPostgres(data_dir)
    try:
        yield server.start()
    finally:
        signal_server(server, signal.SIGCONT)  # a frozen server cannot stop
        server.stop()


def migrated_database(server: EmbeddedPostgres, name: str = "courtyard") -> str:
    """Create and migrate database `name` on `server`; its URL."""
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = server.url.rsplit("/", 1)[0] + "/" + name
    migrate.run(url)
    return url


def signal_server(server: EmbeddedPostgres, sig: signal.Signals) -> None:
    """`sig` to the postmaster and every backend (each backend is a process group of its own,
    so a signal to the postmaster's group would freeze the postmaster alone)."""
    if server.pid is None:
        return
    with contextlib.suppress(psutil.NoSuchProcess):
        postmaster = psutil.Process(server.pid)
        for process in [postmaster, *postmaster.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(sig)
