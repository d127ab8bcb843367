"""The language and zone settings in the database: platform defaults, sites' and users' choices."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg.rows import TupleRow, class_row

from store.locale_settings import LocaleSettings


@dataclass(frozen=True, slots=True)
class ReaderLanguage:
    """What the database says about a dashboard or API user's language."""

    #: Their own choice: the user's, else the linked person's (None: no choice made).
    setting: str | None
    #: The language of their sites when those agree, else the platform default.
    site_default: str


def apply_defaults(conn: psycopg.Connection[TupleRow], settings: LocaleSettings) -> None:
    """Make the settings' defaults the database's (run at start-up, after migrating)."""
    conn.execute(
        """
        UPDATE site_defaults SET language = %s, timezone = %s, updated_at = now()
        WHERE language IS DISTINCT FROM %s OR timezone IS DISTINCT FROM %s
        """,
        (
            settings.default_language,
            settings.default_timezone,
            settings.default_language,
            settings.default_timezone,
        ),
    )


_READER = """
SELECT coalesce(u.language, p.language) AS setting,
       coalesce(
           (SELECT CASE WHEN count(DISTINCT coalesce(s.language, d.language)) = 1
                        THEN min(coalesce(s.language, d.language)) END
            FROM sites s
            WHERE s.id IN (SELECT site_id FROM user_sites WHERE user_id = u.id
                           UNION
                           SELECT site_id FROM assignments WHERE person_id = u.person_id)),
           d.language) AS site_default
FROM users u
LEFT JOIN people p ON p.id = u.person_id
CROSS JOIN site_defaults d
WHERE u.id = %s
"""


async def reader_language(
    conn: psycopg.AsyncConnection[TupleRow], user_id: str | None
) -> ReaderLanguage:
    """The language settings that apply to `user_id` (None: somebody not signed in)."""
    async with conn.cursor(row_factory=class_row(ReaderLanguage)) as cur:
        if user_id is not None:
            found = await (await cur.execute(_READER, (user_id,))).fetchone()
            if found is not None:
                return found
        default = await (
            await cur.execute(
                "SELECT NULL::text AS setting, language AS site_default FROM site_defaults"
            )
        ).fetchone()
    return default or ReaderLanguage(None, LocaleSettings().default_language)


async def set_user_language(
    conn: psycopg.AsyncConnection[TupleRow], user_id: str, language: str | None
) -> bool:
    """Set (None: clear) a user's own language; False when there is no such user."""
    cur = await conn.execute("UPDATE users SET language = %s WHERE id = %s", (language, user_id))
    return cur.rowcount == 1
