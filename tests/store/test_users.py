"""store.access.users: anyone_can_log_in (nobody, no password, a password, deactivated)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import psycopg

from store.access import users
from store.access.users import NewUser


def test_anyone_can_log_in_needs_an_active_user_with_a_password(database_url: str) -> None:
    async def run() -> list[bool]:
        seen = []
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            seen.append(await users.anyone_can_log_in(conn))  # nobody at all
            await users.add_user(conn, NewUser(user_id="robot", name="Robot", role="admin"))
            seen.append(await users.anyone_can_log_in(conn))  # a user without a password
            await users.add_user(conn, NewUser(user_id="ana", name="Ana", role="admin"), "h")
            seen.append(await users.anyone_can_log_in(conn))
            await users.deactivate_user(conn, "ana", datetime.now(UTC))
            seen.append(await users.anyone_can_log_in(conn))  # only a deactivated one
        return seen

    assert asyncio.run(run()) == [False, False, True, False]
