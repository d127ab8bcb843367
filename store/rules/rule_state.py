"""Rule state that survives a restart of the rules engine: pending holds, learned baselines.

State is JSON per (rule, key), the key being a series or a subject. A rule saves what changed
in the transaction that raises or resolves the alerts it led to, so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

_SAVE = """
INSERT INTO rule_state AS s (rule_id, key, state, updated_at)
SELECT %s, k, v, now() FROM unnest(%s::text[], %s::jsonb[]) AS u (k, v)
ORDER BY k
ON CONFLICT (rule_id, key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
"""


def load(conn: psycopg.Connection[TupleRow], rule_id: str) -> dict[str, object]:
    """Every key's state for the rule (parsed JSON)."""
    rows = conn.execute(
        "SELECT key, state FROM rule_state WHERE rule_id = %s", (rule_id,)
    ).fetchall()
    return {str(key): state for key, state in rows}


def save(conn: psycopg.Connection[TupleRow], rule_id: str, states: Mapping[str, object]) -> int:
    """Insert or replace the state of each key, in one statement; returns how many were written.

    Keys are written in sorted order, so two engines saving overlapping keys cannot deadlock.
    """
    if not states:
        return 0
    keys = list(states)
    cur = conn.execute(_SAVE, (rule_id, keys, [Jsonb(states[k]) for k in keys]))
    return cur.rowcount


def delete(
    conn: psycopg.Connection[TupleRow], rule_id: str, keys: Iterable[str] | None = None
) -> int:
    """Forget the state of these keys, or of the whole rule when `keys` is None."""
    if keys is None:
        cur = conn.execute("DELETE FROM rule_state WHERE rule_id = %s", (rule_id,))
    else:
        cur = conn.execute(
            "DELETE FROM rule_state WHERE rule_id = %s AND key = ANY(%s::text[])",
            (rule_id, list(keys)),
        )
    return cur.rowcount
