"""A bulk device import against the store: plan it (what each row would change, or why it
cannot), then apply every row in the caller's transaction. Nothing is applied when any row is
wrong: the API and CLI apply only a plan without errors."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg.rows import TupleRow

from store.devices.device_edits import apply_edit, changes, check_edit, facts_of, known_ids
from store.devices.import_rows import ImportRow, RowError


@dataclass(frozen=True, slots=True)
class PlannedRow:
    row: int
    device_key: str
    #: "create" (no such device yet: it is registered, silent until it speaks), "update" or
    #: "unchanged".
    action: str
    changes: dict[str, tuple[object, object]]


@dataclass(frozen=True, slots=True)
class ImportPlan:
    rows: tuple[PlannedRow, ...]
    errors: tuple[RowError, ...]


def plan_import(
    conn: psycopg.Connection[TupleRow], site_id: str, rows: list[ImportRow]
) -> ImportPlan:
    current = facts_of(conn, site_id, [r.device_key for r in rows])
    known = known_ids(conn, site_id)
    planned: list[PlannedRow] = []
    errors: list[RowError] = []
    for row in rows:
        facts = current[row.device_key]
        problems = check_edit(conn, site_id, facts, row.values, known)
        errors += [RowError(row.row, p.field, p.code, p.message) for p in problems]
        changed = changes(facts, row.values)
        action = "create" if facts.id is None else ("update" if changed else "unchanged")
        planned.append(PlannedRow(row.row, row.device_key, action, changed))
    return ImportPlan(tuple(planned), tuple(errors))


def apply_import(
    conn: psycopg.Connection[TupleRow], site_id: str, rows: list[ImportRow], plan: ImportPlan
) -> int:
    """Apply a plan without errors; returns how many devices were created or changed."""
    if plan.errors:
        raise ValueError("an import plan with errors cannot be applied")
    done = 0
    for row, planned in zip(rows, plan.rows, strict=True):
        if planned.action != "unchanged":
            apply_edit(conn, site_id, row.device_key, row.values)
            done += 1
    return done
