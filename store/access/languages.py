"""The language and zone settings in the database: the platform's defaults, a user's choice."""

from __future__ import annotations

import psycopg
from psycopg.rows import TupleRow

from i18n.settings import LocaleSettings


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


async def choose_language(
    conn: psycopg.AsyncConnection[TupleRow], user_id: str, language: str | None
) -> bool:
    """Set (None: clear) the language `user_id` reads. A user who is one of the people
    notified (linked to a person) gets notifications in it too: one language for one reader.
    False when there is no such user."""
    async with conn.transaction():
        cur = await conn.execute(
            "UPDATE users SET language = %s WHERE id = %s RETURNING person_id",
            (language, user_id),
        )
        row = await cur.fetchone()
        if row is None:
            return False
        if row[0] is not None and language is not None:
            await conn.execute("UPDATE people SET language = %s WHERE id = %s", (language, row[0]))
    return True
