"""A device's state as people read it: its status messages when it sends them, else judged from
its data against its usual interval, "unknown" only before it first speaks; the list, its state
filter, the site overview and the household counts agree (device_state(), migration 0016)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.rows import TupleRow

from store.access.visibility import Visibility
from store.devices import device_edits, device_reads
from store.places import household_states, provisioning
from store.readings.writer import BatchWriter
from store.records import Message, Reading, StatusChange

SITE = "court"
EVERYTHING = Visibility.everything()


def every_five_minutes(device: str, newest: datetime) -> list[Message]:
    """An hour of messages of two metrics each (one time per message), the newest at `newest`."""
    return [
        Message(
            received_at=ts,
            readings=(
                Reading(SITE, device, "temperature_c", ts, 21.0),
                Reading(SITE, device, "humidity_pct", ts, 50.0),
            ),
        )
        for ts in (newest - timedelta(minutes=5 * i) for i in range(12, -1, -1))
    ]


def status(device: str, online: bool, ts: datetime) -> Message:
    return Message(received_at=ts, statuses=(StatusChange(SITE, device, ts, online),))


def make_site(database_url: str) -> None:
    now = datetime.now(UTC)
    writer = BatchWriter()
    with psycopg.connect(database_url) as conn:
        provisioning.upsert_site(conn, SITE, "Court", "Asia/Shanghai")
        # Data only: heard from 10 minutes ago (two intervals), and 2 hours ago.
        writer.write(conn, every_five_minutes("fresh", now - timedelta(minutes=10)))
        writer.write(conn, every_five_minutes("stale", now - timedelta(hours=2)))
        # Status messages win over what the data says.
        writer.write(conn, every_five_minutes("said-online", now - timedelta(hours=2)))
        writer.write(conn, [status("said-online", True, now - timedelta(hours=3))])
        writer.write(conn, every_five_minutes("said-offline", now - timedelta(minutes=1)))
        writer.write(conn, [status("said-offline", False, now - timedelta(minutes=2))])
        # Registered by people, never heard from.
        device_edits.register(conn, SITE, "silent")
        provisioning.upsert_household(conn, SITE, "h1", "Flat 1")
        provisioning.set_household_devices(conn, SITE, "h1", ["fresh", "stale", "silent"])
        conn.commit()


async def reads(
    database_url: str,
) -> tuple[
    list[device_reads.DeviceRow],
    dict[str, list[str]],
    list[device_reads.StateCount],
    list[device_reads.AttentionRow],
    list[household_states.HouseholdState],
]:
    conn: psycopg.AsyncConnection[TupleRow]
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        rows = await device_reads.list_devices(conn, EVERYTHING, site_id=SITE)
        filtered = {
            state: [
                r.device_key
                for r in await device_reads.list_devices(
                    conn, EVERYTHING, site_id=SITE, status=state
                )
            ]
            for state in ("online", "offline", "unknown")
        }
        counts, _, attention = await device_reads.overview(conn, EVERYTHING, SITE)
        households = await household_states.household_states(conn, EVERYTHING)
        return rows, filtered, counts, attention, households


def test_a_device_without_status_messages_is_judged_from_its_data(database_url: str) -> None:
    make_site(database_url)
    rows, filtered, counts, attention, households = asyncio.run(reads(database_url))

    states = {r.device_key: (r.state, r.state_source) for r in rows}
    assert states == {
        "fresh": ("online", "data"),
        "stale": ("offline", "data"),
        "said-online": ("online", "status"),
        "said-offline": ("offline", "status"),
        "silent": ("unknown", None),
    }
    # The state filter and the overview's counts say the same as the list.
    assert filtered == {
        "online": ["fresh", "said-online"],
        "offline": ["said-offline", "stale"],
        "unknown": ["silent"],
    }
    by_state: Counter[str] = Counter()
    for c in counts:
        by_state[c.state] += c.count
    assert by_state == Counter(online=2, offline=2, unknown=1)
    assert sorted(a.device_key for a in attention) == ["said-offline", "stale"]
    assert [(h.id, h.sensors, h.offline) for h in households] == [("h1", 3, 1)]


def test_the_allowed_silence_follows_the_usual_interval_between_a_floor_and_a_cap(
    database_url: str,
) -> None:
    now = datetime.now(UTC)
    with psycopg.connect(database_url) as conn:
        provisioning.upsert_site(conn, SITE, "Court", "Asia/Shanghai")
        writer = BatchWriter()
        for device, gap in (("hourly", timedelta(hours=1)), ("twice-a-day", timedelta(hours=12))):
            times = [now - gap * i for i in range(10, 0, -1)]
            writer.write(
                conn, [Message(t, readings=(Reading(SITE, device, "x", t, 1),)) for t in times]
            )
        writer.write(conn, every_five_minutes("often", now))
        writer.write(conn, [Message(now, readings=(Reading(SITE, "once", "x", now, 1),))])
        allowed = dict(
            conn.execute(
                "SELECT device_key, device_silence_allowed(id) FROM devices ORDER BY device_key"
            ).fetchall()
        )
    assert allowed == {
        "hourly": timedelta(hours=3),  # three usual intervals
        "often": timedelta(minutes=15),  # three of 5 minutes, and the floor
        "once": timedelta(days=1),  # no interval known yet: the cap
        "twice-a-day": timedelta(days=1),  # three of 12 hours, and the cap
    }
