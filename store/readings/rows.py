"""A batch's readings as rows to stage, and the readings refused: over a device's series limit,
or conflicting with the value kept for the same series and time (the first one written).

Readings are named by their position in the batch: message by message, reading by reading, the
order of `all_readings(messages)`. The common batch refuses nothing and costs a dict lookup per
reading; finding out which messages to reject, and why, runs only when something was refused.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate

import psycopg
from psycopg.rows import TupleRow

from store.readings.registry import DeviceKey, Learnt, Registry
from store.records import Message, Reading, Reject

Row = tuple[int, datetime, float]
SeriesTime = tuple[int, datetime]

#: How many refused readings a reason names; the payload prefix and the topic show the rest.
_NAMED_IN_REASON = 3


@dataclass(slots=True)
class StagedReadings:
    rows: list[Row] = field(default_factory=list)
    #: (series id, ts) -> position of the reading whose row is staged (the first of the batch).
    first: dict[SeriesTime, int] = field(default_factory=dict)
    #: (position, (series id, ts)) of readings whose series and time an earlier one has.
    repeats: list[tuple[int, SeriesTime]] = field(default_factory=list)
    #: Positions of readings of new series that their device's limit leaves out.
    over_limit: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Refusals:
    """Readings of the batch not stored, and a reject per message that had any."""

    positions: frozenset[int]
    over_limit: int
    conflicting: int
    rejects: tuple[Reject, ...]


NO_REFUSALS = Refusals(frozenset(), 0, 0, ())


def all_readings(messages: Sequence[Message]) -> tuple[Reading, ...]:
    return tuple(r for m in messages for r in m.readings)


def stage(
    cur: psycopg.Cursor[TupleRow],
    registry: Registry,
    messages: Sequence[Message],
    device_ids: dict[DeviceKey, int],
    learnt: Learnt,
) -> StagedReadings:
    """One (series id, ts, value) row per series and time: the first reading of the batch."""
    named: list[tuple[int, str, datetime, float]] = []
    for message in messages:
        last: DeviceKey | None = None
        device_id = 0
        for r in message.readings:
            key = (r.site, r.device)
            if key != last:
                device_id, last = device_ids[key], key
            named.append((device_id, r.metric, r.ts, r.value))
    # Ordered, so that a device near its limit gets the metrics it sent first.
    wanted = dict.fromkeys((d, m) for d, m, _, _ in named)
    series = registry.resolve_series(cur, wanted, learnt)
    staged = StagedReadings()
    for position, (device_id, metric, ts, value) in enumerate(named):
        sid = series.get((device_id, metric))
        if sid is None:
            staged.over_limit.append(position)
            continue
        at = (sid, ts)
        if at in staged.first:
            staged.repeats.append((position, at))
            continue
        staged.first[at] = position
        staged.rows.append((sid, ts, value))
    return staged


def refusals(
    messages: Sequence[Message],
    readings: Sequence[Reading],
    staged: StagedReadings,
    stored: Mapping[SeriesTime, float],
    series_limit: int | None,
) -> Refusals:
    """What was not stored. `stored` holds the values found in the store for staged rows that
    differ from them; within the batch, the first reading's value is the one kept."""
    if not (staged.over_limit or staged.repeats or stored):
        return NO_REFUSALS
    conflicting: dict[int, float] = {staged.first[key]: value for key, value in stored.items()}
    for position, key in staged.repeats:
        kept = stored.get(key, readings[staged.first[key]].value)
        if readings[position].value != kept:
            conflicting[position] = kept
    starts = list(accumulate((len(m.readings) for m in messages), initial=0))
    over_by_message: dict[int, list[int]] = defaultdict(list)
    for position in staged.over_limit:
        over_by_message[bisect.bisect_right(starts, position) - 1].append(position)
    conflicts_by_message: dict[int, list[int]] = defaultdict(list)
    for position in sorted(conflicting):
        conflicts_by_message[bisect.bisect_right(starts, position) - 1].append(position)
    rejects: list[Reject] = []
    for index, positions in sorted(over_by_message.items()):
        reason = _over_limit_reason([readings[p] for p in positions], series_limit)
        rejects += _reject(messages[index], reason)
    for index, positions in sorted(conflicts_by_message.items()):
        reason = _conflict_reason([(readings[p], conflicting[p]) for p in positions])
        rejects += _reject(messages[index], reason)
    return Refusals(
        positions=frozenset(staged.over_limit) | frozenset(conflicting),
        over_limit=len(staged.over_limit),
        conflicting=len(conflicting),
        rejects=tuple(rejects),
    )


def _reject(message: Message, reason: str) -> list[Reject]:
    # Messages built without an origin (not from MQTT) are counted, not recorded.
    return [] if message.origin is None else [message.origin.reject(reason, message.received_at)]


def _over_limit_reason(refused: Sequence[Reading], series_limit: int | None) -> str:
    devices = sorted({f"{r.site}/{r.device}" for r in refused})
    metrics = list(dict.fromkeys(r.metric for r in refused))
    return (
        f"series limit: device {', '.join(devices)} already has its {series_limit} series "
        f"(max_series_per_device); {_count(len(refused), 'reading')} of "
        f"{_count(len(metrics), 'new metric')} not stored: {_some(metrics)}"
    )


def _conflict_reason(refused: Sequence[tuple[Reading, float]]) -> str:
    examples = [
        f"{r.metric} at {_time(r.ts)}: {r.value!r} sent, {kept!r} stored" for r, kept in refused
    ]
    return (
        f"conflicting duplicate: {_count(len(refused), 'reading')} not stored, a different "
        f"value being stored for the same series and time (the first one is kept): "
        f"{_some(examples)}"
    )


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def _some(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_NAMED_IN_REASON])
    more = len(items) - _NAMED_IN_REASON
    return f"{shown} and {more} more" if more > 0 else shown


def _time(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
