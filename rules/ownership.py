"""Which sites this rules engine evaluates: PostgreSQL advisory locks split sites between engines.

Each engine holds one *slot* lock (so every engine can count the live engines in `pg_locks`)
and one lock per site it owns, all on its own session connection: if the engine dies, its
session ends and its locks go with it, so another engine takes its sites over. On each
`refresh` an engine takes free sites up to its fair share, ceil(sites / engines), and gives
back what exceeds it, so a second engine that starts receives half the sites within a refresh
or two. Callers refresh only between transactions: a site changes hands between batches.
The locks themselves are taken and counted by store.rules.site_locks.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass

import psycopg
from psycopg.rows import TupleRow

from store.rules import site_locks

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
            if site_locks.try_slot(self._conn, slot):
                self._slot = slot
                return slot
        raise RuntimeError(f"{MAX_ENGINES} rules engines are running already")

    def live_engines(self) -> int:
        # At least this engine, even before it joined.
        return max(1, site_locks.slots_taken(self._conn))

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
            site_locks.release_site(self._conn, site)
        owned = set(keep)
        gained: set[str] = set()
        for site in sorted(known - owned):
            if len(owned) >= share:
                break
            if site_locks.try_site(self._conn, site):
                owned.add(site)
                gained.add(site)
        self.sites = frozenset(owned)
        return Change(frozenset(gained), frozenset(lost))

    def release_all(self) -> None:
        site_locks.release_all(self._conn)
        self.sites = frozenset()
        self._slot = None
