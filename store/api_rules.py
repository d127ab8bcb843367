"""Rule definitions (the `rules` table) for the API: list, get, create or replace, enable,
delete, narrowed to a Visibility. A rule with no site applies to every site: anyone who may
read rules sees it, only a caller who sees every site may change it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import TupleRow, class_row
from psycopg.types.json import Jsonb

from store.api_scope import Visibility, Where


@dataclass(frozen=True, slots=True)
class RuleRow:
    id: str
    kind: str
    site_id: str | None
    scope: dict[str, object]
    params: dict[str, object]
    category: str
    severity: str
    enabled: bool
    created_at: datetime
    updated_at: datetime


_COLUMNS = "id, kind, site_id, scope, params, category, severity, enabled, created_at, updated_at"


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


async def list_rules(
    conn: psycopg.AsyncConnection[TupleRow],
    visibility: Visibility,
    *,
    site_id: str | None = None,
    kind: str | None = None,
    enabled: bool | None = None,
) -> list[RuleRow]:
    where = Where()
    _visible(where, visibility)
    if site_id is not None:
        where.add("r.site_id = %(site)s", site=site_id)
    if kind is not None:
        where.add("r.kind = %(kind)s", kind=kind)
    if enabled is not None:
        where.add("r.enabled = %(enabled)s", enabled=enabled)
    async with conn.cursor(row_factory=class_row(RuleRow)) as cur:
        await cur.execute(
            f"SELECT {_COLUMNS} FROM rules r {where.sql()} ORDER BY r.id", where.params
        )
        return await cur.fetchall()


async def get_rule(
    conn: psycopg.AsyncConnection[TupleRow], visibility: Visibility, rule_id: str
) -> RuleRow | None:
    where = Where()
    where.add("r.id = %(id)s", id=rule_id)
    _visible(where, visibility)
    async with conn.cursor(row_factory=class_row(RuleRow)) as cur:
        await cur.execute(f"SELECT {_COLUMNS} FROM rules r {where.sql()}", where.params)
        return await cur.fetchone()


async def exists(conn: psycopg.AsyncConnection[TupleRow], rule_id: str) -> bool:
    cur = await conn.execute("SELECT 1 FROM rules WHERE id = %s", (rule_id,))
    return await cur.fetchone() is not None


async def put_rule(
    conn: psycopg.AsyncConnection[TupleRow],
    *,
    rule_id: str,
    kind: str,
    site_id: str | None,
    scope: dict[str, object],
    params: dict[str, object],
    category: str,
    severity: str,
    enabled: bool,
    at: datetime,
) -> tuple[RuleRow, bool]:
    """Create the rule or replace its definition; returns it and whether it was created."""
    async with conn.cursor(row_factory=class_row(_RuleWithCreated)) as cur:
        await cur.execute(
            f"""
            INSERT INTO rules AS r (id, kind, site_id, scope, params, category, severity,
                                    enabled, created_at, updated_at)
            VALUES (%(id)s, %(kind)s, %(site)s, %(scope)s, %(params)s, %(category)s,
                    %(severity)s, %(enabled)s, %(at)s, %(at)s)
            ON CONFLICT (id) DO UPDATE SET
                kind = excluded.kind, site_id = excluded.site_id, scope = excluded.scope,
                params = excluded.params, category = excluded.category,
                severity = excluded.severity, enabled = excluded.enabled,
                updated_at = excluded.updated_at
            RETURNING {_COLUMNS}, (xmax = 0) AS created
            """,
            {
                "id": rule_id,
                "kind": kind,
                "site": site_id,
                "scope": Jsonb(scope),
                "params": Jsonb(params),
                "category": category,
                "severity": severity,
                "enabled": enabled,
                "at": at,
            },
        )
        row = await cur.fetchone()
    assert row is not None
    return row.rule(), row.created


@dataclass(frozen=True, slots=True)
class _RuleWithCreated:
    id: str
    kind: str
    site_id: str | None
    scope: dict[str, object]
    params: dict[str, object]
    category: str
    severity: str
    enabled: bool
    created_at: datetime
    updated_at: datetime
    created: bool

    def rule(self) -> RuleRow:
        return RuleRow(
            self.id,
            self.kind,
            self.site_id,
            self.scope,
            self.params,
            self.category,
            self.severity,
            self.enabled,
            self.created_at,
            self.updated_at,
        )


async def set_enabled(
    conn: psycopg.AsyncConnection[TupleRow], rule_id: str, enabled: bool, at: datetime
) -> None:
    await conn.execute(
        "UPDATE rules SET enabled = %s, updated_at = %s WHERE id = %s", (enabled, at, rule_id)
    )


async def delete_rule(conn: psycopg.AsyncConnection[TupleRow], rule_id: str) -> None:
    await conn.execute("DELETE FROM rules WHERE id = %s", (rule_id,))
