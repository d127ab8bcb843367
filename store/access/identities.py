"""Who a request comes from: the active user behind a valid token or session, with the sites,
households and language that scope what they see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import TupleRow, class_row


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a valid token or session belongs to, with what scopes that user's access."""

    user_id: str
    name: str
    role: str
    person_id: str | None
    all_sites: bool
    sites: list[str]
    #: The (site, household) pairs the linked person is a primary or backup volunteer of.
    household_sites: list[str]
    household_ids: list[str]
    #: Token: its id and narrowed scopes (None: the role's). Session: None, None.
    token_id: int | None
    token_scopes: list[str] | None
    #: Session: its CSRF token. Token: None.
    csrf_token: str | None
    last_used_at: datetime | None
    #: The user's own language (else their linked person's); None: not chosen.
    language: str | None = None
    #: The default language of the user's (first) site, else the platform's.
    site_language: str | None = None


_IDENTITY_COLUMNS = """
    u.id AS user_id, u.name, u.role, u.person_id, u.all_sites,
    coalesce((SELECT array_agg(us.site_id ORDER BY us.site_id) FROM user_sites us
              WHERE us.user_id = u.id), '{}') AS sites,
    coalesce(hh.sites, '{}') AS household_sites, coalesce(hh.ids, '{}') AS household_ids,
    coalesce(u.language, (SELECT p.language FROM people p WHERE p.id = u.person_id)) AS language,
    coalesce((SELECT s.language FROM user_sites us JOIN sites s ON s.id = us.site_id
              WHERE us.user_id = u.id ORDER BY us.site_id LIMIT 1),
             (SELECT d.language FROM site_defaults d)) AS site_language
"""


_HOUSEHOLDS_OF_PERSON = """
LEFT JOIN LATERAL (
    SELECT array_agg(a.site_id ORDER BY a.site_id, a.household_id) AS sites,
           array_agg(a.household_id ORDER BY a.site_id, a.household_id) AS ids
    FROM (SELECT DISTINCT site_id, household_id FROM assignments
          WHERE person_id = u.person_id AND role IN ('primary', 'backup')) a
) hh ON true
"""


async def identity_by_token(
    conn: psycopg.AsyncConnection[TupleRow], token_hash: bytes, now: datetime
) -> Identity | None:
    """The active user of an unexpired, unrevoked token; None for anything else."""
    async with conn.cursor(row_factory=class_row(Identity)) as cur:
        await cur.execute(
            f"""
            SELECT {_IDENTITY_COLUMNS}, t.id AS token_id, t.scopes AS token_scopes,
                   NULL::text AS csrf_token, t.last_used_at
            FROM api_tokens t JOIN users u ON u.id = t.user_id
            {_HOUSEHOLDS_OF_PERSON}
            WHERE t.token_hash = %s AND t.revoked_at IS NULL AND t.expires_at > %s AND u.active
            """,
            (token_hash, now),
        )
        return await cur.fetchone()


async def identity_by_session(
    conn: psycopg.AsyncConnection[TupleRow], id_hash: bytes, now: datetime, idle_s: float
) -> Identity | None:
    """The active user of a live session (not revoked, not expired, not idle longer than idle_s)."""
    async with conn.cursor(row_factory=class_row(Identity)) as cur:
        await cur.execute(
            f"""
            SELECT {_IDENTITY_COLUMNS}, NULL::bigint AS token_id, NULL::text[] AS token_scopes,
                   s.csrf_token, s.last_seen_at AS last_used_at
            FROM dashboard_sessions s JOIN users u ON u.id = s.user_id
            {_HOUSEHOLDS_OF_PERSON}
            WHERE s.id_hash = %s AND s.revoked_at IS NULL AND s.expires_at > %s
              AND s.last_seen_at > %s - make_interval(secs => %s) AND u.active
            """,
            (id_hash, now, now, idle_s),
        )
        return await cur.fetchone()
