"""Rule definitions between the rules file, the `rules` table and the engine.

`install` synchronises a rules file into the table (the shipped defaults when no file is given
and the table is empty); `compile_stored` is the engine's RuleCompiler: what the table holds,
validated and compiled against the directory. A definition that no longer validates or compiles
is logged (once per change) and skipped: one broken rule never stops the others.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

import psycopg
from psycopg.rows import TupleRow

from rules.definitions import RuleDefinition, from_records, load_rules_file, parse_rules, to_record
from rules.directory import Directory
from rules.registry import CompiledRule, compile_rules
from store.rules import rule_defs

logger = logging.getLogger(__name__)


def default_definitions() -> list[RuleDefinition]:
    text = resources.files("rules").joinpath("defaults.yaml").read_text(encoding="utf-8")
    return parse_rules(text, "rules/defaults.yaml")


def install(conn: psycopg.Connection[TupleRow], path: Path | None) -> rule_defs.SyncReport | None:
    """Sync `path` into the table; with no path, the defaults, only into an empty table (so
    edits made through the API survive a restart). Raises RuleFileError on a bad file."""
    if path is not None:
        definitions = load_rules_file(path)
    else:
        with conn.transaction():
            if rule_defs.list_all(conn):
                return None
        definitions = default_definitions()
    report = rule_defs.sync(conn, [to_record(d) for d in definitions])
    logger.info(
        "rules from %s: %d new, %d updated, %d unchanged",
        path or "the defaults", len(report.inserted), len(report.updated), len(report.unchanged),
    )  # fmt: skip
    return report


class StoredRules:
    """The engine's RuleCompiler over the `rules` table."""

    def __init__(self) -> None:
        self._reported: frozenset[str] = frozenset()

    def __call__(
        self, conn: psycopg.Connection[TupleRow], directory: Directory
    ) -> list[CompiledRule]:
        with conn.transaction():
            records = rule_defs.list_all(conn)
        definitions, invalid = from_records(records)
        compiled, failed = compile_rules(definitions, directory)
        problems = frozenset([*invalid, *map(str, failed)])
        for problem in sorted(problems - self._reported):
            logger.error("rule skipped: %s", problem)
        self._reported = problems
        return compiled
