"""Which sites this rules engine evaluates: PostgreSQL advisory locks split sites between engines.

Each engine holds one *slot* lock (so every engine can count the live engines in `pg_locks`)
and one lock per site it owns, all on its own session connection: if the engine dies, its
session ends and its locks go with it, so another engine takes its sites over. On each
`refresh` an engine takes free sites up to its fair share, ceil(sites / engines), and gives
back what exceeds it, so a second engine that starts receives half the sites within a refresh
or two. Callers refresh only between transactions: a site changes hands between batches.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass

import psycopg
from psycopg.rows import TupleRow

#: advisory lock class ids (the first of the two-int key): engine slots and sites.
SLOT_CLASS = 0x4359_0001
SITE_CLASS = 0x4359_0002
MAX_ENGINES = 64


@dataclass(frozen=True, slots=True)
class Change:
    gained: frozenset[str]
    lost: frozenset[str]

    def __bool__(self) -> bool:
        return bool(self.gained or self.lost)


class SiteOwnership:
    def __init__(self, conn: psycopg.Connection[TupleRow]) -> None:
        if not conn.autocommit:
            raise ValueError("the ownership connection must be in autocommit mode")
        self._conn = conn
        self._slot: int | None = None
        self.sites: frozenset[str] = frozenset()

    @property
    def slot(self) -> int | None:
        return self._slot

    def join(self) -> int:
        """Take a free engine slot; raises RuntimeError when MAX_ENGINES engines run."""
        for slot in range(MAX_ENGINES):
            if self._try(SLOT_CLASS, slot):
                self._slot = slot
                return slot
        raise RuntimeError(f"{MAX_ENGINES} rules engines are running already")

    def live_engines(self) -> int:
        row = self._conn.execute(
            """
            SELECT count(*) FROM pg_locks
            WHERE locktype = 'advisory' AND classid = %s::oid AND objsubid = 2 AND granted
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """,
            (SLOT_CLASS,),
        ).fetchone()
        return max(1, int(row[0]) if row else 1)

    def refresh(self, all_sites: Collection[str]) -> Change:
        """Rebalance towards the fair share; returns the sites gained and lost."""
        if self._slot is None:
            self.join()
        known = set(all_sites)
        share = math.ceil(len(known) / self.live_engines()) if known else 0
        lost = {s for s in self.sites if s not in known}  # a site that was removed
        keep = sorted(self.sites - lost)
        if len(keep) > share:
            lost.update(keep[share:])
            keep = keep[:share]
        for site in lost:
            self._unlock(site)
        owned = set(keep)
        gained: set[str] = set()
        for site in sorted(known - owned):
            if len(owned) >= share:
                break
            if self._try(SITE_CLASS, _site_key(self._conn, site)):
                owned.add(site)
                gained.add(site)
        self.sites = frozenset(owned)
        return Change(frozenset(gained), frozenset(lost))

    def release_all(self) -> None:
        self._conn.execute("SELECT pg_advisory_unlock_all()")
        self.sites = frozenset()
        self._slot = None

    def _try(self, class_id: int, key: int) -> bool:
        row = self._conn.execute(
            "SELECT pg_try_advisory_lock(%s::int4, %s::int4)", (_int4(class_id), key)
        ).fetchone()
        return bool(row and row[0])

    def _unlock(self, site: str) -> None:
        self._conn.execute(
            "SELECT pg_advisory_unlock(%s::int4, %s::int4)",
            (_int4(SITE_CLASS), _site_key(self._conn, site)),
        )


def _site_key(conn: psycopg.Connection[TupleRow], site: str) -> int:
    row = conn.execute("SELECT hashtext(%s)", (site,)).fetchone()
    assert row is not None
    return int(row[0])


def _int4(value: int) -> int:
    """The two-int advisory key takes signed int4s."""
    return value - (1 << 32) if value >= (1 << 31) else value
