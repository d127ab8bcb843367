"""How many alerts are unresolved, by status and severity (for `courtyard status`)."""

from __future__ import annotations

import psycopg
from psycopg.rows import TupleRow


def unresolved_by_status_and_severity(
    conn: psycopg.Connection[TupleRow],
) -> dict[tuple[str, str], int]:
    """(status, severity) -> count, for the combinations that occur among unresolved alerts."""
    rows = conn.execute(
        "SELECT status, severity, count(*) FROM alerts WHERE status <> 'resolved' GROUP BY 1, 2"
    ).fetchall()
    return {(str(status), str(severity)): int(count) for status, severity, count in rows}
