"""How many alerts there are: by status (the rules engine's metrics), and unresolved ones by status
and severity (`courtyard status`)."""

from __future__ import annotations

import psycopg
from psycopg.rows import TupleRow

from store.alerts.records import Status


def unresolved_by_status_and_severity(
    conn: psycopg.Connection[TupleRow],
) -> dict[tuple[str, str], int]:
    """(status, severity) -> count, for the combinations that occur among unresolved alerts."""
    rows = conn.execute(
        "SELECT status, severity, count(*) FROM alerts WHERE status <> 'resolved' GROUP BY 1, 2"
    ).fetchall()
    return {(str(status), str(severity)): int(count) for status, severity, count in rows}


def count_by_status(conn: psycopg.Connection[TupleRow]) -> dict[Status, int]:
    """How many alerts are in each status (every status, none counting 0)."""
    counts = dict.fromkeys(Status, 0)
    rows = conn.execute("SELECT status, count(*) FROM alerts GROUP BY status").fetchall()
    for status, count in rows:
        counts[Status(status)] = int(count)
    return counts
