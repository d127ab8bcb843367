"""Rule definitions (the `rules` table) for the API: list, get, create or replace, enable,
delete, narrowed to a Visibility. A rule with no site applies to every site: anyone who may
read rules sees it, only a caller who sees every site may change it.

The statements and the row shape are store/rules/rule_defs.py's, run here on async connections.
"""

from __future__ import annotations

import psycopg
from psycopg.rows import TupleRow, class_row

from store.access.visibility import Visibility, Where
from store.rules import rule_defs
from store.rules.rule_defs import RuleRecord, StoredRule


def _visible(where: Where, visibility: Visibility) -> None:
    if visibility.households is not None:
        sites = sorted({site for site, _ in visibility.households})
        where.add(
            "(r.site_id IS NULL OR r.site_id = ANY(%(v_rule_sites)s::text[]))", v_rule_sites=sites
        )
    elif visibility.sites is not None:
        where.add(
            "(r.site_id IS NULL OR r.site_id = ANY(%(v_rule_sites)s::text[]))",
            v_rule_sites=sorted(visibility.sites),
        )


async def _fetch(
    conn: psycopg.AsyncConnection[TupleRow], where: Where, order: str = ""
) -> list[StoredRule]:
    async with conn.cursor(row_factory=class_row(StoredRule)) as cur:
        await cur.execute(f"{rule_defs.SELECT} {where.sql()} {order}", where.params)
        return await cur.fetchall()


async def list_rules(
    conn: psycopg.AsyncConnection[TupleRow],
    visibility: Visibility,
    *,
    site_id: str | None = None,
    kind: str | None = None,
    enabled: bool | None = None,
) -> list[StoredRule]:
    where = Where()
    _visible(where, visibility)
    if site_id is not None:
        where.add("r.site_id = %(site)s", site=site_id)
    if kind is not None:
        where.add("r.kind = %(kind)s", kind=kind)
    if enabled is not None:
        where.add("r.enabled = %(enabled)s", enabled=enabled)
    return await _fetch(conn, where, "ORDER BY r.id")


async def get_rule(
    conn: psycopg.AsyncConnection[TupleRow], visibility: Visibility, rule_id: str
) -> StoredRule | None:
    where = Where()
    where.add("r.id = %(id)s", id=rule_id)
    _visible(where, visibility)
    rows = await _fetch(conn, where)
    return rows[0] if rows else None


async def exists(conn: psycopg.AsyncConnection[TupleRow], rule_id: str) -> bool:
    """Whether the rule exists at all, whoever may see it."""
    return await get_rule(conn, Visibility.everything(), rule_id) is not None


async def put_rule(
    conn: psycopg.AsyncConnection[TupleRow], record: RuleRecord
) -> tuple[StoredRule, bool]:
    """Create the rule or replace its whole definition, `enabled` included; returns it and
    whether it was created. `updated_at` moves only when something changed."""
    async with conn.transaction():
        cur = await conn.execute(
            rule_defs.UPSERT, rule_defs.upsert_params(record, overwrite_enabled=True)
        )
        written = await cur.fetchone()
        row = await get_rule(conn, Visibility.everything(), record.id)
    if row is None:  # the upsert holds the row's lock until commit: cannot happen
        raise RuntimeError(f"rule {record.id!r} vanished while being written")
    return row, written is not None and bool(written[0])


async def set_enabled(conn: psycopg.AsyncConnection[TupleRow], rule_id: str, enabled: bool) -> None:
    await conn.execute(rule_defs.SET_ENABLED, {"id": rule_id, "enabled": enabled})


async def delete_rule(conn: psycopg.AsyncConnection[TupleRow], rule_id: str) -> None:
    await conn.execute(rule_defs.DELETE, {"id": rule_id})
