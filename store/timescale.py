"""TimescaleDB policies whose intervals come from settings: compression and retention.

Written against TimescaleDB 2.x's documented API (add_/remove_compression_policy,
add_/remove_retention_policy). Re-applied on every migration run so a changed setting takes
effect; remove + add is the documented way to change a policy's interval.
"""

from __future__ import annotations

import psycopg
from psycopg.rows import TupleRow

_HYPERTABLES = ("readings", "events")


def apply_policies(
    conn: psycopg.Connection[TupleRow], *, retention_days: int, compress_after_days: int
) -> None:
    for table in _HYPERTABLES:
        conn.execute("SELECT remove_compression_policy(%s, if_exists => true)", (table,))
        conn.execute(
            "SELECT add_compression_policy(%s, make_interval(days => %s))",
            (table, compress_after_days),
        )
        conn.execute("SELECT remove_retention_policy(%s, if_exists => true)", (table,))
        conn.execute(
            "SELECT add_retention_policy(%s, make_interval(days => %s))",
            (table, retention_days),
        )
