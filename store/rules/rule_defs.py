"""The `rules` table: rule definitions as plain records, and the only SQL that reads or writes it.

The row dataclasses are the column list: the statements below are built from their fields, and
both the rules package (sync psycopg, the functions here) and the API (async psycopg,
store/rules/rule_edits.py, which adds its callers' visibility) run these same statements.
rules/definitions.py validates what goes in.

`sync` upserts what a rules file says and reports, per id, what it inserted, updated or found
unchanged. The `enabled` switch belongs to people once a rule exists (a manager silencing a noisy
rule from the dashboard must not be undone by the next start-up), so `sync` sets it only on
insert unless told to overwrite it; the API's PUT, which replaces a definition, does overwrite.

`site_id` binds a rule to one site: the API sets it (that site's managers may change the rule);
rules files leave it NULL and name their sites in the scope. When set, it is the rule's only
site (`scope_with_site`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import psycopg
from psycopg.rows import TupleRow, class_row
from psycopg.types.json import Jsonb

JsonObject = dict[str, object]


# kw_only: StoredRule adds required columns after RuleRecord's defaulted ones.
@dataclass(frozen=True, slots=True, kw_only=True)
class RuleRecord:
    """One definition as written; `scope`, `params` and `notify` are JSON objects."""

    id: str
    kind: str
    category: str
    severity: str
    site_id: str | None = None
    description: str = ""
    enabled: bool = True
    scope: JsonObject = field(default_factory=dict)
    params: JsonObject = field(default_factory=dict)
    auto_resolve: bool = True
    notify: JsonObject = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredRule(RuleRecord):
    """A row as read back: the definition and when it was created and last changed."""

    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class SyncReport:
    inserted: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()


def scope_with_site(scope: Mapping[str, object], site_id: str | None) -> JsonObject:
    """The scope a rule runs with. A rule bound to a site runs there only, whatever its scope's
    `sites` say: who may change it was decided by that site."""
    if site_id is None:
        return dict(scope)
    return {**scope, "sites": [site_id]}


# -- the statements ----------------------------------------------------------------------------

_WRITTEN = tuple(f.name for f in dataclasses.fields(RuleRecord))
_JSON = frozenset({"scope", "params", "notify"})
#: What a definition says, beside its id and the people's `enabled` switch.
_CONTENT = tuple(c for c in _WRITTEN if c not in {"id", "enabled"})

COLUMNS = ", ".join(f.name for f in dataclasses.fields(StoredRule))
#: Every column of `rules r`, in StoredRule's shape; callers add WHERE (over `r.`) and ORDER BY.
SELECT = f"SELECT {COLUMNS} FROM rules r"

# `xmax = 0` is true for a row this statement inserted; an update that changes nothing is
# skipped by its WHERE and returns no row at all (the row is still locked, as for an update).
UPSERT = f"""
INSERT INTO rules AS r ({", ".join(_WRITTEN)})
VALUES ({", ".join(f"%({c})s" for c in _WRITTEN)})
ON CONFLICT (id) DO UPDATE SET
    {", ".join(f"{c} = excluded.{c}" for c in _CONTENT)},
    enabled = CASE WHEN %(overwrite_enabled)s THEN excluded.enabled ELSE r.enabled END,
    updated_at = now()
WHERE ({", ".join(f"r.{c}" for c in _CONTENT)})
      IS DISTINCT FROM ({", ".join(f"excluded.{c}" for c in _CONTENT)})
   OR (%(overwrite_enabled)s AND r.enabled IS DISTINCT FROM excluded.enabled)
RETURNING (xmax = 0) AS inserted
"""

#: Parameters: `id`, `enabled`. `updated_at` moves only when the switch does.
SET_ENABLED = """
UPDATE rules SET enabled = %(enabled)s,
       updated_at = CASE WHEN enabled = %(enabled)s THEN updated_at ELSE now() END
WHERE id = %(id)s
"""

#: Parameter: `id`. Alerts stay (they carry the rule id, not a reference); the rule's state is
#: the engine's to drop (store.rules.rule_state.delete).
DELETE = "DELETE FROM rules WHERE id = %(id)s"


def upsert_params(record: RuleRecord, *, overwrite_enabled: bool) -> dict[str, object]:
    """UPSERT's parameters for `record`."""
    params: dict[str, object] = {
        name: Jsonb(getattr(record, name)) if name in _JSON else getattr(record, name)
        for name in _WRITTEN
    }
    params["overwrite_enabled"] = overwrite_enabled
    return params


# -- sync psycopg, for the rules package and the CLI -------------------------------------------


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
                UPSERT, upsert_params(rec, overwrite_enabled=overwrite_enabled)
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
        return cur.execute(f"{SELECT} ORDER BY r.id").fetchall()


def get(conn: psycopg.Connection[TupleRow], rule_id: str) -> StoredRule | None:
    with conn.cursor(row_factory=class_row(StoredRule)) as cur:
        return cur.execute(f"{SELECT} WHERE r.id = %(id)s", {"id": rule_id}).fetchone()


def set_enabled(conn: psycopg.Connection[TupleRow], rule_id: str, enabled: bool) -> bool:
    """Switch a rule on or off; False when there is no such rule."""
    return conn.execute(SET_ENABLED, {"id": rule_id, "enabled": enabled}).rowcount > 0


def delete(conn: psycopg.Connection[TupleRow], rule_id: str) -> bool:
    """Remove a definition (see DELETE); False when there was none."""
    return conn.execute(DELETE, {"id": rule_id}).rowcount > 0
