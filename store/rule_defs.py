"""The `rules` table: rule definitions as plain records (rules/definitions.py validates them).

`sync` upserts what a rules file says and reports, per id, what it inserted, updated or found
unchanged. The `enabled` switch belongs to people once a rule exists (a manager silencing a noisy
rule from the dashboard must not be undone by the next start-up), so `sync` sets it only on
insert unless told to overwrite it.

`site_id` stays NULL: a definition's sites are in its scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import psycopg
from psycopg.rows import TupleRow, class_row
from psycopg.types.json import Jsonb

JsonObject = dict[str, object]

_COLUMNS = "id, kind, description, enabled, category, severity, scope, params, auto_resolve, notify"

# `xmax = 0` is true for a row this statement inserted; an update that changes nothing is
# skipped by its WHERE and returns no row at all.
_UPSERT = f"""
INSERT INTO rules AS r ({_COLUMNS})
VALUES (%(id)s, %(kind)s, %(description)s, %(enabled)s, %(category)s, %(severity)s,
        %(scope)s, %(params)s, %(auto_resolve)s, %(notify)s)
ON CONFLICT (id) DO UPDATE SET
    kind = excluded.kind, description = excluded.description,
    enabled = CASE WHEN %(overwrite_enabled)s THEN excluded.enabled ELSE r.enabled END,
    category = excluded.category, severity = excluded.severity, scope = excluded.scope,
    params = excluded.params, auto_resolve = excluded.auto_resolve, notify = excluded.notify,
    updated_at = now()
WHERE (r.kind, r.description, r.category, r.severity, r.scope, r.params, r.auto_resolve,
       r.notify)
      IS DISTINCT FROM
      (excluded.kind, excluded.description, excluded.category, excluded.severity,
       excluded.scope, excluded.params, excluded.auto_resolve, excluded.notify)
   OR (%(overwrite_enabled)s AND r.enabled IS DISTINCT FROM excluded.enabled)
RETURNING (xmax = 0) AS inserted
"""


@dataclass(frozen=True, slots=True)
class RuleRecord:
    """One definition as stored; `scope`, `params` and `notify` are JSON objects."""

    id: str
    kind: str
    category: str
    severity: str
    description: str = ""
    enabled: bool = True
    scope: JsonObject = field(default_factory=dict)
    params: JsonObject = field(default_factory=dict)
    auto_resolve: bool = True
    notify: JsonObject = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoredRule(RuleRecord):
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SyncReport:
    inserted: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()


def sync(
    conn: psycopg.Connection[TupleRow],
    records: Iterable[RuleRecord],
    *,
    overwrite_enabled: bool = False,
) -> SyncReport:
    """Insert or update each record (in id order, so two concurrent syncs cannot deadlock).

    Rules in the table but not among `records` are left alone: deleting is `delete`'s job.
    Runs in the caller's transaction when there is one, else in its own.
    """
    inserted: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    with conn.transaction():
        for rec in sorted(records, key=lambda r: r.id):
            row = conn.execute(
                _UPSERT,
                {
                    "id": rec.id,
                    "kind": rec.kind,
                    "description": rec.description,
                    "enabled": rec.enabled,
                    "category": rec.category,
                    "severity": rec.severity,
                    "scope": Jsonb(rec.scope),
                    "params": Jsonb(rec.params),
                    "auto_resolve": rec.auto_resolve,
                    "notify": Jsonb(rec.notify),
                    "overwrite_enabled": overwrite_enabled,
                },
            ).fetchone()
            if row is None:
                unchanged.append(rec.id)
            elif row[0]:
                inserted.append(rec.id)
            else:
                updated.append(rec.id)
    return SyncReport(tuple(inserted), tuple(updated), tuple(unchanged))


def list_all(conn: psycopg.Connection[TupleRow]) -> list[StoredRule]:
    with conn.cursor(row_factory=class_row(StoredRule)) as cur:
        return cur.execute(
            f"SELECT {_COLUMNS}, created_at, updated_at FROM rules ORDER BY id"
        ).fetchall()


def get(conn: psycopg.Connection[TupleRow], rule_id: str) -> StoredRule | None:
    with conn.cursor(row_factory=class_row(StoredRule)) as cur:
        return cur.execute(
            f"SELECT {_COLUMNS}, created_at, updated_at FROM rules WHERE id = %s", (rule_id,)
        ).fetchone()


def set_enabled(conn: psycopg.Connection[TupleRow], rule_id: str, enabled: bool) -> bool:
    """Switch a rule on or off; False when there is no such rule."""
    cur = conn.execute(
        """
        UPDATE rules SET enabled = %s,
               updated_at = CASE WHEN enabled = %s THEN updated_at ELSE now() END
        WHERE id = %s
        """,
        (enabled, enabled, rule_id),
    )
    return cur.rowcount > 0


def delete(conn: psycopg.Connection[TupleRow], rule_id: str) -> bool:
    """Remove a definition; its alerts stay (they carry the rule id, not a reference), and its
    state is the engine's to drop (store.rule_state.delete)."""
    cur = conn.execute("DELETE FROM rules WHERE id = %s", (rule_id,))
    return cur.rowcount > 0
