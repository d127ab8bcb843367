"""rules.ownership: engines split sites with advisory locks, and take over a dead one's."""

from __future__ import annotations

import psycopg

from rules.ownership import SiteOwnership
from tests.support.waiting import wait_for

SITES = [f"site-{i}" for i in range(5)]


def test_two_engines_split_the_sites_and_one_takes_all_when_the_other_dies(
    database_url: str,
) -> None:
    with psycopg.connect(database_url, autocommit=True) as a_conn:
        a = SiteOwnership(a_conn)
        a.join()
        assert a.refresh(SITES).gained == frozenset(SITES)  # alone: every site
        b_conn = psycopg.connect(database_url, autocommit=True)
        b = SiteOwnership(b_conn)
        b.join()
        assert b.live_engines() == 2
        assert not b.refresh(SITES).gained  # all locked by a
        lost = a.refresh(SITES).lost  # a gives back what exceeds ceil(5 / 2)
        assert len(lost) == 2 and len(a.sites) == 3
        assert b.refresh(SITES).gained == lost
        assert a.sites.isdisjoint(b.sites) and a.sites | b.sites == set(SITES)

        b_conn.close()  # b dies: its session and locks go (the server notices shortly)
        wait_for(lambda: a.live_engines() == 1, timeout_s=10, what="b's slot lock to go")
        assert a.refresh(SITES).gained == lost
        assert a.sites == set(SITES)


def test_a_removed_site_is_released(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        owner = SiteOwnership(conn)
        owner.refresh(SITES)
        change = owner.refresh(SITES[:3])
        assert change.lost == {"site-3", "site-4"}
        assert owner.sites == set(SITES[:3])
