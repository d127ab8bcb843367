"""The receiver of docs/webhooks.md, run as written; dispatcher settings and helpers of the tests.

`documented_receiver` executes the Python block of the doc (without its `__main__` part) and
serves its `Receiver` on a free loopback port, counting the requests it gets; so the doc's
verification code is what checks the signatures in these tests.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from rules.notify import Sender
from rules.notify.dispatcher import Dispatcher
from rules.notify.settings import NotifySettings
from store.alerts import outbox
from store.alerts.destinations import DestinationPolicy
from store.alerts.outbox import Notification
from tests.rules.notify.community import T0, Conn

DOC = Path(__file__).parents[3] / "docs" / "webhooks.md"
SECRET = "s3cret-for-tests"
#: The receivers here listen on loopback, which notifications may reach only when allowed.
LOOPBACK = DestinationPolicy.parse("127.0.0.0/8")
SETTINGS = NotifySettings(
    allowed_destinations="127.0.0.0/8",
    webhook_secret=SECRET,  # type: ignore[arg-type]  # pydantic turns it into a SecretStr
    webhook_timeout_s=5.0,
    apprise_timeout_s=5.0,
    lease_s=60.0,
    workers_per_channel=2,
    poll_interval_s=0.5,
)


def doc_code() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    assert len(blocks) == 1, "docs/webhooks.md should hold one Python block: the receiver"
    return str(blocks[0])


def doc_urls(section: str) -> list[str]:
    """The backticked URLs of a doc table's rows under `section`."""
    text = DOC.read_text().split(section, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| [^|]+ \| `([a-z]+://[^`]+)` \|$", text, flags=re.MULTILINE)


@dataclass
class Documented:
    url: str
    namespace: dict[str, Any]
    hits: list[str]

    @property
    def received(self) -> list[dict[str, Any]]:
        return list(self.namespace["received"])


@contextmanager
def documented_receiver(secret: str = SECRET) -> Iterator[Documented]:
    namespace: dict[str, Any] = {"__name__": "docs_webhooks_receiver"}
    exec(compile(doc_code(), str(DOC), "exec"), namespace)
    namespace["SECRET"] = secret.encode()
    hits: list[str] = []
    base: type[BaseHTTPRequestHandler] = namespace["Receiver"]

    class Counting(base):  # type: ignore[valid-type, misc]
        def do_POST(self) -> None:
            hits.append(self.headers.get("Idempotency-Key", ""))
            super().do_POST()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Counting)
    thread = threading.Thread(target=server.serve_forever, name="docs-receiver", daemon=True)
    thread.start()
    try:
        yield Documented(f"http://127.0.0.1:{server.server_address[1]}/hook", namespace, hits)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def statuses(conn: Conn, channel: str | None = None) -> list[tuple[str, int]]:
    """(status, attempts) of the outbox rows (of one channel), in the order queued."""
    return [
        (str(r[0]), int(r[1]))
        for r in conn.execute(
            "SELECT status, attempts FROM notifications"
            " WHERE %(channel)s::text IS NULL OR channel = %(channel)s ORDER BY id",
            {"channel": channel},
        ).fetchall()
    ]


def drain(
    conn: Conn, dispatcher: Dispatcher, now: datetime, *, rounds: int
) -> tuple[datetime, list[int]]:
    """Run the dispatcher `rounds` times, each at the time the next row of its channels is due.

    Returns the last time and how many rows each round attempted: time moves by the outbox's
    own schedule (retries, deferrals) rather than by sleeping.
    """
    attempted = []
    for _ in range(rounds):
        conn.commit()
        due = outbox.next_due(conn, channels=dispatcher.channels)
        if due is None:
            break
        now = max(now, due)
        attempted.append(dispatcher.run_once(now))
    conn.commit()
    return now, attempted


def dispatcher(database_url: str, senders: dict[str, Sender], **overrides: Any) -> Dispatcher:
    return Dispatcher(database_url, senders, SETTINGS.model_copy(update=overrides))


def notification() -> Notification:
    """An outbox row as a sender gets it, for senders tested on their own."""
    return Notification(
        id=1,
        alert_change_id=1,
        alert_id=1,
        receiver="ana",
        channel="webhook",
        idempotency_key="1:ana:webhook",
        payload={"title": "t"},
        status="sending",
        attempts=1,
        next_attempt_at=T0,
        last_error=None,
        created_at=T0,
        sent_at=None,
    )
