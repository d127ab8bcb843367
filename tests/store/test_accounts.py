"""store.access.accounts: whether anyone can log in yet (what `courtyard up` tells its operator)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import psycopg

from store.access import accounts
from store.access.accounts import NewUser


def test_anyone_can_log_in_needs_an_active_user_with_a_password(database_url: str) -> None:
    async def run() -> list[bool]:
        seen = []
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            seen.append(await accounts.anyone_can_log_in(conn))  # nobody at all
            await accounts.add_user(conn, NewUser(user_id="robot", name="Robot", role="admin"))
            seen.append(await accounts.anyone_can_log_in(conn))  # a user without a password
            await accounts.add_user(conn, NewUser(user_id="ana", name="Ana", role="admin"), "h")
            seen.append(await accounts.anyone_can_log_in(conn))
            await accounts.deactivate_user(conn, "ana", datetime.now(UTC))
            seen.append(await accounts.anyone_can_log_in(conn))  # only a deactivated one
        return seen

    assert asyncio.run(run()) == [False, False, True, False]
