"""write_batch: one transaction for registry, series, readings, events, statuses and rejects.

Idempotent: readings and events are keyed by their primary keys and inserted with
ON CONFLICT DO NOTHING, so a message redelivered after a crash stores nothing twice. Readings
travel by binary COPY into a session-local staging table, then one INSERT ... SELECT moves the
new ones into `readings` (and, on plain PostgreSQL, into the hourly rollup, counting only rows
that were really inserted). The first value for a series and time is kept: a message bringing a
different one gets a reject saying so, as does one whose device is over its series limit
(store/readings/rows.py).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import orjson
import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from store.backend import Backend, backend_of
from store.devices.descriptions import store_descriptions
from store.readings import feed, hourly_packs, late_hours
from store.readings.registry import DeviceKey, DeviceTouch, Learnt, Registry
from store.readings.rows import Row, SeriesTime, all_readings, refusals, stage
from store.records import Message, Reject, StatusChange

logger = logging.getLogger(__name__)

_CREATE_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS readings_stage (
    series_id integer, ts timestamptz, value double precision
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS events_stage (
    device_id bigint, ts timestamptz, type text, subject text, attrs jsonb
) ON COMMIT DELETE ROWS;
"""

# Adds rows of {source} (series_id, ts, value) to the plain-PostgreSQL hourly rollup; date_bin
# keeps hour buckets in UTC whatever the session's TimeZone.
_ROLLUP_FROM = """
    INSERT INTO readings_hourly_rollup AS r
        (series_id, bucket, sample_count, sum_value, min_value, max_value)
    SELECT series_id, date_bin('1 hour', ts, TIMESTAMPTZ '2000-01-01 00:00:00+00'),
           count(*), sum(value), min(value), max(value)
    FROM {source}
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (series_id, bucket) DO UPDATE SET
        sample_count = r.sample_count + excluded.sample_count,
        sum_value = r.sum_value + excluded.sum_value,
        min_value = least(r.min_value, excluded.min_value),
        max_value = greatest(r.max_value, excluded.max_value)
"""

# The common case: none of the staged rows is stored yet.
_INSERT_NEW_READINGS = {
    Backend.TIMESCALEDB: "INSERT INTO readings (series_id, ts, value) SELECT * FROM readings_stage",
    Backend.POSTGRESQL: "INSERT INTO readings (series_id, ts, value) SELECT * FROM readings_stage;"
    + _ROLLUP_FROM.format(source="readings_stage"),
}

# After a redelivery: skip what is stored; the rollup counts only rows really inserted.
_MOVE_READINGS = {
    Backend.TIMESCALEDB: """
        WITH inserted AS (
            INSERT INTO readings (series_id, ts, value)
            SELECT series_id, ts, value FROM readings_stage
            ON CONFLICT DO NOTHING
            RETURNING 1
        )
        SELECT count(*) FROM inserted
    """,
    Backend.POSTGRESQL: f"""
        WITH inserted AS (
            INSERT INTO readings (series_id, ts, value)
            SELECT series_id, ts, value FROM readings_stage
            ON CONFLICT DO NOTHING
            RETURNING series_id, ts, value
        ), rolled AS ({_ROLLUP_FROM.format(source="inserted")} RETURNING 1)
        SELECT count(*) FROM inserted
    """,
}

# Staged rows whose series and time are stored with another value: conflicting duplicates.
# Looked for only when the plain INSERT found rows stored already. They leave the stage, so
# the feed, which is built from it, carries only the values stored.
_STORED_CONFLICTS = """
DELETE FROM readings_stage s USING readings r
WHERE r.series_id = s.series_id AND r.ts = s.ts AND r.value <> s.value
RETURNING s.series_id, s.ts, r.value
"""

# Moves the staged events that are new; those stored already (a redelivery) leave the stage
# too, so the feed, which is built from the stage, carries each event once.
_MOVE_EVENTS = """
WITH moved AS (
    INSERT INTO events (device_id, ts, type, subject, attrs)
    SELECT device_id, ts, type, subject, attrs FROM events_stage
    ON CONFLICT DO NOTHING
    RETURNING device_id, ts, type, subject
), stored_before AS (
    DELETE FROM events_stage s
    WHERE NOT EXISTS (
        SELECT 1 FROM moved m
        WHERE (m.device_id, m.ts, m.type, m.subject) = (s.device_id, s.ts, s.type, s.subject))
)
SELECT count(*) FROM moved
"""

_APPLY_STATUS = """
UPDATE devices SET online = %(online)s, status_changed_at = %(ts)s
WHERE id = %(id)s
  AND online IS DISTINCT FROM %(online)s
  AND (status_changed_at IS NULL OR status_changed_at <= %(ts)s)
RETURNING id
"""

_INSERT_REJECT = """
INSERT INTO rejected_messages
    (received_at, topic, payload_prefix, payload_size, reason, fingerprint)
SELECT %(received_at)s, %(topic)s, %(prefix)s, %(size)s, %(reason)s, %(fingerprint)s
WHERE NOT %(redelivered)s
   OR NOT EXISTS (SELECT 1 FROM rejected_messages WHERE fingerprint = %(fingerprint)s)
"""


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a write stored, for ingest's counters. What rules see of it is in the feed
    (store/readings/feed.py): every reading of the batch, new or redelivered (rules treat
    readings as state), except those not stored (over the series limit, or conflicting with a
    stored value); the events new to the store; the statuses that changed a device's state."""

    readings_stored: int
    #: Events stored by this transaction (a redelivered event is not among them).
    events_stored: int
    #: Status messages that changed a device's online state.
    statuses_applied: int
    rejects_stored: int
    #: Readings not stored because their device reached its series limit.
    readings_over_series_limit: int = 0
    #: Readings not stored because the store (or the batch) has another value for their series
    #: and time; each of their messages got a reject.
    conflicting_duplicates: int = 0


class BatchWriter:
    """Writes batches of decoded messages; keeps the registry cache between batches."""

    def __init__(
        self,
        registry: Registry | None = None,
        *,
        feed_enabled: bool = True,
        max_series_per_device: int | None = None,
    ) -> None:
        self._registry = registry or Registry(max_series_per_device=max_series_per_device)
        #: Append each batch to the committed-batch feed (store.readings.feed) for the rules
        #: engines.
        self._feed_enabled = feed_enabled
        self._prepared_backend_pid: int | None = None
        self._backend: Backend | None = None

    def write(self, conn: psycopg.Connection[TupleRow], messages: Sequence[Message]) -> WriteResult:
        """Store the messages in one transaction and commit. Raises psycopg errors unchanged."""
        self._prepare(conn)
        learnt = Learnt()
        with conn.transaction(), conn.cursor() as cur:
            device_ids = self._registry.resolve_devices(cur, _device_touches(messages), learnt)
            self._registry.register_aliases(
                cur, (a for m in messages for a in m.aliases), device_ids, learnt
            )
            store_descriptions(cur, (d for m in messages for d in m.descriptions))
            staged = stage(cur, self._registry, messages, device_ids, learnt)
            rows = staged.rows
            stored_readings, stored_values = (
                self._store_readings(conn, cur, rows) if rows else (0, {})
            )
            refused = refusals(
                messages,
                all_readings(messages),
                staged,
                stored_values,
                self._registry.max_series_per_device,
            )
            events = _store_events(cur, messages, device_ids)
            status_changes = _apply_statuses(cur, messages, device_ids)
            rejects = sum(_store_reject(cur, r) for m in messages for r in m.rejects)
            rejects += sum(_store_reject(cur, r) for r in refused.rejects)
            if self._feed_enabled and (rows or events or status_changes):
                sites = {site for site, _ in device_ids}
                feed.append(cur, sites, status_changes, with_events=bool(events))
        self._registry.remember(learnt)
        for reject in refused.rejects:
            logger.warning(
                "readings of %s not stored: %s; payload starts %r",
                reject.topic,
                reject.reason,
                reject.payload_prefix,
            )
        return WriteResult(
            readings_stored=stored_readings,
            events_stored=events,
            statuses_applied=len(status_changes),
            rejects_stored=rejects,
            readings_over_series_limit=refused.over_limit,
            conflicting_duplicates=refused.conflicting,
        )

    def _prepare(self, conn: psycopg.Connection[TupleRow]) -> None:
        # Temp tables live as long as the server session: set up again after a reconnect.
        if self._prepared_backend_pid == conn.info.backend_pid:
            return
        with conn.transaction():
            conn.execute(_CREATE_STAGING)
            self._backend = backend_of(conn)
        self._prepared_backend_pid = conn.info.backend_pid

    def _store_readings(
        self, conn: psycopg.Connection[TupleRow], cur: psycopg.Cursor[TupleRow], rows: list[Row]
    ) -> tuple[int, dict[SeriesTime, float]]:
        """Stage the rows by binary COPY, then move them with a plain INSERT (in a savepoint);
        only if some are stored already (a redelivery) take the ON CONFLICT path that skips
        them. A plain INSERT costs the server about half as much as a speculative one.
        Returns how many were stored, and the stored value of each staged row it differs from."""
        assert self._backend is not None  # set by _prepare
        _copy(cur, "readings_stage", rows)
        conflicts: dict[SeriesTime, float] = {}
        try:
            with conn.transaction():  # a savepoint
                cur.execute(_INSERT_NEW_READINGS[self._backend])
            stored = len(rows)
        except psycopg.errors.UniqueViolation:
            cur.execute(_STORED_CONFLICTS)
            conflicts = {(int(sid), ts): float(value) for sid, ts, value in cur.fetchall()}
            row = cur.execute(_MOVE_READINGS[self._backend]).fetchone()
            stored = int(row[0]) if row else 0
        if self._backend is Backend.TIMESCALEDB and _older_than(rows, late_hours.NOTE_BEFORE):
            # Hours behind the aggregate's refresh policy: noted for store maintenance to
            # refresh (store/readings/late_hours.py), or they would never reach the rollup.
            cur.execute(late_hours.NOTE_STAGED)
        if _reaches_packed_periods(rows):
            # Late readings may have changed the rollup of periods whose packs charts read:
            # redo those here, so no reader sees a pack older than the rollup
            # (store/readings/hourly_packs.py).
            cur.execute(hourly_packs.REPACK_STAGED)
        return stored, conflicts


def _device_touches(messages: Sequence[Message]) -> dict[DeviceKey, DeviceTouch]:
    touches: dict[DeviceKey, DeviceTouch] = {}

    def touch(key: DeviceKey, seen: datetime) -> None:
        current = touches.get(key)
        if current is None:
            touches[key] = DeviceTouch(last_seen=seen)
        elif seen > current.last_seen:
            current.last_seen = seen

    for message in messages:
        seen = message.received_at
        last: DeviceKey | None = None
        for reading in message.readings:  # a message's readings are mostly one device's
            key = (reading.site, reading.device)
            if key != last:
                touch(key, seen)
                last = key
        for event in message.events:
            touch((event.site, event.device), seen)
        for status in message.statuses:
            touch((status.site, status.device), seen)
        for alias in message.aliases:
            touch((alias.site, alias.device), seen)
        for ref, kind in message.kinds:
            touch((ref.site, ref.device), seen)
            touches[(ref.site, ref.device)].kind = kind
    return touches


def _reaches_packed_periods(rows: Sequence[Row]) -> bool:
    limit = datetime.now(UTC) - hourly_packs.WRITER_LOOKS_BEFORE
    return any(ts < limit for _, ts, _ in rows)


def _older_than(rows: Sequence[Row], age: timedelta) -> bool:
    limit = datetime.now(UTC) - age
    return any(ts < limit for _, ts, _ in rows)


def _copy(cur: psycopg.Cursor[TupleRow], table: str, rows: Sequence[Row]) -> None:
    statement = f"COPY {table} (series_id, ts, value) FROM STDIN (FORMAT BINARY)"
    with cur.copy(statement.encode()) as copy:
        copy.set_types(["int4", "timestamptz", "float8"])
        for row in rows:
            copy.write_row(row)


def _store_events(
    cur: psycopg.Cursor[TupleRow],
    messages: Sequence[Message],
    device_ids: dict[DeviceKey, int],
) -> int:
    """Store the batch's events (an exact repeat once); returns how many were new."""
    pending = {
        (device_ids[(e.site, e.device)], e.ts, e.type, e.subject or ""): e
        for m in messages
        for e in m.events
    }
    if not pending:
        return 0
    with cur.copy(
        "COPY events_stage (device_id, ts, type, subject, attrs) FROM STDIN (FORMAT BINARY)"
    ) as copy:
        copy.set_types(["int8", "timestamptz", "text", "text", "jsonb"])
        for (device_id, ts, type_, subject), event in pending.items():
            copy.write_row((device_id, ts, type_, subject, Jsonb(event.attrs, dumps=_dumps)))
    row = cur.execute(_MOVE_EVENTS).fetchone()
    return int(row[0]) if row else 0


def _apply_statuses(
    cur: psycopg.Cursor[TupleRow],
    messages: Sequence[Message],
    device_ids: dict[DeviceKey, int],
) -> tuple[StatusChange, ...]:
    changed: list[StatusChange] = []
    statuses = sorted(_with_data_before(messages), key=lambda s: s.ts)
    for status in statuses:
        device_id = device_ids[(status.site, status.device)]
        cur.execute(_APPLY_STATUS, {"online": status.online, "ts": status.ts, "id": device_id})
        if cur.fetchone() is not None:
            changed.append(status)
    return tuple(changed)


def _with_data_before(messages: Sequence[Message]) -> Iterator[StatusChange]:
    """Each status with `data_before`: the newest data time of the messages before it in the
    batch (arrival order). A fact only the writer sees, recorded for the rules engines, which
    place the status on event time (rules/placement.py). Only messages up to the last status
    are looked at: most batches hold none."""
    last = max((i for i, m in enumerate(messages) if m.statuses), default=-1)
    newest: float | None = None
    for message in messages[: last + 1]:
        for status in message.statuses:
            yield replace(status, data_before=newest)
        times = [r.ts for r in message.readings] + [e.ts for e in message.events]
        if times:
            latest = max(times).timestamp()
            newest = latest if newest is None else max(newest, latest)


def _store_reject(cur: psycopg.Cursor[TupleRow], reject: Reject) -> int:
    fingerprint = hashlib.sha256(reject.topic.encode("utf-8", "replace") + b"\0")
    fingerprint.update(reject.payload_prefix)
    fingerprint.update(str(reject.payload_size).encode())
    cur.execute(
        _INSERT_REJECT,
        {
            "received_at": reject.received_at,
            # NUL cannot be stored in text; a topic is shown to people, so make it visible.
            "topic": reject.topic.replace("\0", "\\0"),
            "prefix": reject.payload_prefix,
            "size": reject.payload_size,
            "reason": reject.reason.replace("\0", "\\0"),
            "fingerprint": fingerprint.digest(),
            "redelivered": reject.redelivered,
        },
    )
    return cur.rowcount


def _dumps(value: object) -> str:
    return orjson.dumps(value).decode()
