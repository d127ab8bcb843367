"""The advisory locks that split sites between rules engines, and what pg_locks shows of them.

An engine holds one *slot* lock (SLOT_CLASS, its slot number) and one lock per site it owns
(SITE_CLASS, hashtext of the site id), all on its own autocommit session: when the session
ends, its locks go with it. Which sites to take or give back is rules.ownership's business;
this module only takes, releases and counts the locks. `engine_sessions` reads them back for
`courtyard status`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import TupleRow, class_row

#: advisory lock class ids (the first of the two-int key): engine slots and sites.
SLOT_CLASS = 0x4359_0001
SITE_CLASS = 0x4359_0002


@dataclass(frozen=True, slots=True)
class EngineSession:
    """A rules engine's lock session: its slot, and the sites whose lock it holds."""

    backend_pid: int
    client: str
    since: datetime
    slot: int | None
    sites: list[str]


def try_slot(conn: psycopg.Connection[TupleRow], slot: int) -> bool:
    """Take the slot's lock unless another session holds it."""
    row = conn.execute(
        "SELECT pg_try_advisory_lock(%s::int4, %s::int4)", (_int4(SLOT_CLASS), slot)
    ).fetchone()
    return bool(row and row[0])


def try_site(conn: psycopg.Connection[TupleRow], site: str) -> bool:
    """Take the site's lock unless another session holds it."""
    row = conn.execute(
        "SELECT pg_try_advisory_lock(%s::int4, hashtext(%s))", (_int4(SITE_CLASS), site)
    ).fetchone()
    return bool(row and row[0])


def release_site(conn: psycopg.Connection[TupleRow], site: str) -> None:
    conn.execute("SELECT pg_advisory_unlock(%s::int4, hashtext(%s))", (_int4(SITE_CLASS), site))


def release_all(conn: psycopg.Connection[TupleRow]) -> None:
    """Release every advisory lock of the session: its slot and its sites."""
    conn.execute("SELECT pg_advisory_unlock_all()")


def slots_taken(conn: psycopg.Connection[TupleRow]) -> int:
    """How many engines hold a slot in this database (the live engines)."""
    row = conn.execute(
        """
        SELECT count(*) FROM pg_locks
        WHERE locktype = 'advisory' AND classid = %s::oid AND objsubid = 2 AND granted
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
        """,
        (SLOT_CLASS,),
    ).fetchone()
    return int(row[0]) if row else 0


#: An advisory lock on two int4 keys shows the keys as (unsigned) oids in classid and objid.
_ENGINE_SESSIONS = """
SELECT a.pid AS backend_pid, coalesce(host(a.client_addr), 'local') AS client,
       a.backend_start AS since,
       (SELECT min(l.objid::bigint) FROM pg_locks l
        WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.objsubid = 2 AND l.granted
          AND l.classid = %(slot)s::bigint::oid) AS slot,
       array(SELECT s.id FROM pg_locks l
             JOIN sites s ON (hashtext(s.id)::bigint & 4294967295) = l.objid::bigint
             WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.objsubid = 2 AND l.granted
               AND l.classid = %(site)s::bigint::oid
             ORDER BY s.id) AS sites
FROM pg_stat_activity a
WHERE a.datname = current_database() AND a.application_name = %(name)s
ORDER BY 4 NULLS LAST, a.pid
"""


def engine_sessions(
    conn: psycopg.Connection[TupleRow], application_name: str
) -> list[EngineSession]:
    """The sessions named `application_name` in this database with the slot and sites each
    holds, by slot (sessions without one last)."""
    with conn.cursor(row_factory=class_row(EngineSession)) as cur:
        return cur.execute(
            _ENGINE_SESSIONS, {"slot": SLOT_CLASS, "site": SITE_CLASS, "name": application_name}
        ).fetchall()


def _int4(value: int) -> int:
    """The two-int advisory key takes signed int4s."""
    return value - (1 << 32) if value >= (1 << 31) else value
