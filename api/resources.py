"""What the lifespan opens and every request reaches: pools, the alert feed, settings, seams."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from api.auth.authcache import AuthCache
from api.auth.hash_slots import HashSlots
from api.feed import AlertFeed
from api.readcache import ReadCache
from api.services import RuleService
from api.settings import ApiSettings


@dataclass(frozen=True, slots=True)
class Resources:
    settings: ApiSettings
    #: Autocommit connections for queries; a route that writes opens a transaction.
    pool: AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]]
    #: Synchronous connections for the store's alert and place changes, run on worker threads.
    action_pool: ConnectionPool[psycopg.Connection[TupleRow]]
    feed: AlertFeed
    rule_service: RuleService | None
    auth_cache: AuthCache
    #: Site overviews and chart aggregates (see api.readcache).
    read_cache: ReadCache[object]
    #: Bounds the password hashes that logins check at once.
    hash_slots: HashSlots
