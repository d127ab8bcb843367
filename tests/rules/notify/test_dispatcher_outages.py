"""The dispatcher through a database restart, on a PostgreSQL server of its own: once the
database is back, a new alert's notification goes out within seconds (its pool does not sit
out a reconnection backoff grown during the outage), and the dispatcher never stops."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from courtyard.embedded import EmbeddedPostgres
from rules.notify.dispatcher import Dispatcher, senders_for
from tests.rules.notify.capture import Capture
from tests.rules.notify.community import SETUP, set_channels
from tests.rules.notify.receivers import SETTINGS
from tests.rules.notify.test_dispatcher import maintenance, running
from tests.support.outages import migrated_database, own_postgres
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

#: A pool retrying with doubling waits (1, 2, 4 ... s) makes its attempts ~31 s and ~63 s after
#: the outage began: a database back at ~36 s would wait half a minute for the next one.
_OUTAGE_S = 34.0


@pytest.fixture
def own_server(server_dir: Path) -> Iterator[EmbeddedPostgres]:
    with own_postgres(server_dir) as server:
        yield server


def test_notifications_resume_within_seconds_of_the_database_return(
    own_server: EmbeddedPostgres,
) -> None:
    url = migrated_database(own_server)
    with psycopg.connect(url) as conn:
        conn.execute(SETUP)
        conn.commit()
    with Capture() as hooks:
        with psycopg.connect(url) as conn:
            set_channels(conn, "mg", {"webhook": hooks.url()})
            conn.commit()
        with (
            # The test settings' senders (they may reach the loopback receiver).
            Dispatcher(url, senders_for(SETTINGS), SETTINGS) as d,
            running(d),
        ):
            with psycopg.connect(url) as conn:
                maintenance(conn, 1, datetime.now(UTC), prefix="before")
            wait_for(hooks.count, timeout_s=30, what="the webhook before the outage")
            own_server.stop()
            # The dispatcher keeps polling (every 0.5 s) through the outage, failing each time.
            time.sleep(_OUTAGE_S)
            own_server.start()
            with psycopg.connect(url) as conn:
                maintenance(conn, 1, datetime.now(UTC), prefix="after")
            wait_for(lambda: hooks.count() == 2, timeout_s=8, what="the webhook after the restart")
