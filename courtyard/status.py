"""`courtyard status`: what is running and how far behind it is, read from the database.

Every service holds database sessions, and `pg_stat_activity` shows them wherever the service
runs:
- an ingest worker: its writer's session, application_name `courtyard-ingest` (one per worker);
- a rules engine: its lock session, `courtyard-rules-locks`, whose advisory locks name its slot
  and the sites it owns (rules/ownership.py, store/rules/site_locks.py);
- an API process: its alert listener, `courtyard-api-listen` (one per process, api/feed.py); its
  pooled sessions (`<application_name>-api`) are counted beside it.
A `courtyard up` is one of each in one process; it also leaves a record (`running.json` in the
data directory) with its database URL, which `courtyard status` uses when no URL is set.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from api.feed import LISTENER_NAME as API_LISTENER_SESSION
from courtyard.cli_text import _
from courtyard.settings import ConfigError, Settings
from store.alerts import alert_counts, outbox
from store.readings import feed, reject_reads
from store.rules import site_locks
from store.rules.site_locks import EngineSession
from store.server import DatabaseSession, other_sessions

#: The application names the services give their sessions (ingest/batcher.py, rules/service.py).
INGEST_SESSION = "courtyard-ingest"
RULES_LOCK_SESSION = "courtyard-rules-locks"
RECORD_NAME = "running.json"
SEVERITIES = ("critical", "warning", "info")

Connection = psycopg.Connection[TupleRow]


@dataclass(frozen=True, slots=True)
class Session:
    backend_pid: int
    client: str
    since: datetime


@dataclass(frozen=True, slots=True)
class Status:
    database: str
    up: dict[str, Any] | None
    ingest: list[Session]
    rules: list[EngineSession]
    api: list[Session]
    api_pool_sessions: int
    feed_backlog: int
    outbox_backlog: int
    #: status (open, acknowledged) -> severity -> count
    alerts: dict[str, dict[str, int]] = field(default_factory=dict)
    rejected_last_hour: int = 0


def run(settings: Settings, *, as_json: bool) -> int:
    record = read_record(settings.data_dir)
    url = settings.store.url or (record or {}).get("database_url", "")
    if record is not None and record.get("database_url") != url:
        record = None  # that `courtyard up` runs on another database
    if not url:
        raise ConfigError(
            _(
                "COURTYARD_DATABASE_URL is not set and no `courtyard up` is running with data"
                " under {path}."
            ).format(path=settings.data_dir)
        )
    try:
        with psycopg.connect(url, connect_timeout=5, application_name="courtyard-status") as conn:
            found = collect(conn, without_password(url), settings.store.application_name, record)
    except psycopg.OperationalError as exc:
        message = _("Cannot reach the database {url}: {error}").format(
            url=without_password(url), error=str(exc).strip()
        )
        sys.stderr.write(message + "\n")
        return 1
    sys.stdout.write((json.dumps(as_dict(found), indent=2) if as_json else render(found)) + "\n")
    return 0


def collect(
    conn: Connection, database: str, application_name: str, record: dict[str, Any] | None
) -> Status:
    """Everything `courtyard status` reports, read in one transaction. `application_name` is
    the store settings' (the API's sessions carry it)."""
    with conn.transaction():
        sessions = other_sessions(conn)
        alerts: dict[str, dict[str, int]] = {
            s: dict.fromkeys(SEVERITIES, 0) for s in ("open", "acknowledged")
        }
        counts = alert_counts.unresolved_by_status_and_severity(conn)
        for (status, severity), count in counts.items():
            alerts[status][severity] = count
        return Status(
            database=database,
            up=record,
            ingest=[_session(s) for s in sessions if s.application_name == INGEST_SESSION],
            rules=site_locks.engine_sessions(conn, RULES_LOCK_SESSION),
            api=[_session(s) for s in sessions if s.application_name == API_LISTENER_SESSION],
            api_pool_sessions=sum(
                1 for s in sessions if s.application_name == f"{application_name}-api"
            ),
            feed_backlog=feed.backlog(conn),
            outbox_backlog=outbox.backlog(conn),
            alerts=alerts,
            rejected_last_hour=reject_reads.count_received_within(conn, timedelta(hours=1)),
        )


def _session(session: DatabaseSession) -> Session:
    return Session(session.backend_pid, session.client, session.since)


def as_dict(status: Status) -> dict[str, Any]:
    """The JSON form of `courtyard status --json` (times in ISO 8601, UTC)."""

    def plain(value: object) -> object:
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    out = plain(asdict(status))
    assert isinstance(out, dict)
    return out


def render(status: Status) -> str:
    """The plain-text report, in the terminal's language."""
    lines = [_("Courtyard status of {database}").format(database=status.database)]
    if status.up is not None:
        lines.append(
            _("`courtyard up` runs as process {pid}; the dashboard is at {url}").format(
                pid=status.up.get("pid"), url=status.up.get("dashboard_url")
            )
        )
    lines.append(_("Ingest workers: {count}").format(count=len(status.ingest)))
    lines += [_session_line(s) for s in status.ingest]
    lines.append(_("Rules engines: {count}").format(count=len(status.rules)))
    for engine in status.rules:
        sites = ", ".join(engine.sites) or _("no site")
        lines.append(
            "  "
            + _("slot {slot}: {sites} (connected from {client} since {since})").format(
                slot="?" if engine.slot is None else engine.slot,
                sites=sites,
                client=engine.client,
                since=_time(engine.since),
            )
        )
    lines.append(
        _("API processes: {count} ({sessions} pooled database sessions)").format(
            count=len(status.api), sessions=status.api_pool_sessions
        )
    )
    lines += [_session_line(s) for s in status.api]
    lines.append(
        _("Rules feed backlog: {count} committed batches not yet evaluated").format(
            count=status.feed_backlog
        )
    )
    lines.append(
        _("Notification outbox backlog: {count} waiting").format(count=status.outbox_backlog)
    )
    templates = {
        "open": _("Open alerts: {critical} critical, {warning} warning, {info} info"),
        "acknowledged": _(
            "Acknowledged alerts: {critical} critical, {warning} warning, {info} info"
        ),
    }
    for state, template in templates.items():
        counts = status.alerts.get(state, {})
        lines.append(template.format(**{s: counts.get(s, 0) for s in SEVERITIES}))
    lines.append(
        _("Rejected messages in the last hour: {count}").format(count=status.rejected_last_hour)
    )
    return "\n".join(lines)


def _session_line(session: Session) -> str:
    return "  " + _("connected from {client} since {since}").format(
        client=session.client, since=_time(session.since)
    )


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# -- the record a running `courtyard up` leaves -------------------------------------------------


@contextmanager
def running_record(settings: Settings, dashboard_url: str) -> Iterator[Path | None]:
    """Write `running.json` (pid, URLs) into the data directory while the block runs."""
    path = settings.data_dir / RECORD_NAME
    record = {
        "pid": os.getpid(),
        "started_at": datetime.now(UTC).isoformat(),
        "database_url": settings.database_url,
        "mqtt_url": settings.mqtt_url,
        "dashboard_url": dashboard_url,
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Owner only: a configured database URL may carry a password.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as f:
            f.write(json.dumps(record, indent=2) + "\n")
    except OSError:
        yield None  # a status without a URL will say nothing runs; the rest works
        return
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def read_record(data_dir: Path) -> dict[str, Any] | None:
    """The record of the `courtyard up` running on `data_dir`, if its process still lives."""
    try:
        record = json.loads((data_dir / RECORD_NAME).read_text(encoding="utf-8"))
        pid = int(record["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # left behind by a `courtyard up` that was killed
    except PermissionError:
        pass  # alive, another user's
    return record if isinstance(record, dict) else None


def without_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"
