"""What `courtyard api`, `courtyard users add|list|deactivate|reset-password` and
`courtyard tokens create|list|revoke` run.

The lead's CLI mounts `add_*_arguments` on its subparsers and calls the functions with the
composed settings; everything here takes the API and store sections, never the whole Settings.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import psycopg
from psycopg.rows import TupleRow

from api import accounts
from api.auth.principals import Permission, Role
from api.auth.secrets import digest, new_token
from api.services import RuleService
from api.settings import ApiSettings
from i18n.languages import LANGUAGES
from store.access import audit_log, tokens, users
from store.access.tokens import TokenInfo
from store.access.users import NewUser, User, UserError
from store.settings import StoreSettings

T = TypeVar("T")


def serve(
    api: ApiSettings,
    store: StoreSettings,
    *,
    host: str,
    port: int,
    rule_service: RuleService | None = None,
    log_level: str = "info",
) -> int:
    """Run the API with uvicorn until SIGTERM or Ctrl-C (uvicorn handles both), in
    `api.workers` processes."""
    import uvicorn

    from api import workers
    from api.app import create_app

    app = create_app(api, store, rule_service=rule_service)
    level = log_level.lower()
    if api.workers > 1:
        config = uvicorn.Config(app, host=host, port=port, log_level=level, log_config=None)
        return workers.run(config, api.workers)
    uvicorn.run(app, host=host, port=port, log_level=level, log_config=None)
    return 0


def add_user(store: StoreSettings, new: NewUser, *, password: str | None = None) -> User:
    """Create a user (raises store.access.users.UserError with a message for people)."""
    from api.auth.passwords import hash_password

    problem = accounts.user_id_problem(new.user_id) or accounts.name_problem(
        new.name, "a user's name"
    )
    if problem is None and password is not None:
        problem = accounts.password_problem(password)
    if problem is not None:
        raise UserError(problem)
    password_hash = hash_password(password) if password else None

    async def run() -> User:
        async with await psycopg.AsyncConnection.connect(store.url, autocommit=True) as conn:
            user = await users.add_user(conn, new, password_hash)
            await audit_log.record(
                conn,
                actor="system",
                action="user.add",
                target=f"user:{new.user_id}",
                details={"role": new.role, "sites": list(new.sites)},
            )
            return user

    return asyncio.run(run())


def create_token(
    store: StoreSettings,
    *,
    user_id: str,
    name: str,
    days: int,
    scopes: Sequence[str] | None = None,
) -> tuple[str, TokenInfo]:
    """Issue a token; returns the secret (shown once, stored only hashed) and its record.

    `scopes` narrows the user's permissions; integration users must name some.
    """
    problem = accounts.token_days_problem(days) or accounts.name_problem(name, "a token's name")
    if problem is not None:
        raise UserError(problem)
    if scopes is not None:
        unknown = sorted(set(scopes) - {p.value for p in Permission})
        if unknown:
            raise UserError(
                f"unknown scope {', '.join(unknown)}; scopes are "
                + ", ".join(p.value for p in Permission)
            )
    secret = new_token()

    async def run() -> TokenInfo:
        async with await psycopg.AsyncConnection.connect(store.url, autocommit=True) as conn:
            user = await users.get_user(conn, user_id)
            if user is None:
                raise UserError(f"no such user: {user_id}")
            if user.role == Role.INTEGRATION and not scopes:
                raise UserError("an integration token must name its scopes (--scope)")
            info = await tokens.create_token(
                conn,
                user_id=user_id,
                name=name,
                token_hash=digest(secret),
                scopes=None if scopes is None else list(scopes),
                expires_at=datetime.now(UTC) + timedelta(days=days),
            )
            await audit_log.record(
                conn,
                actor="system",
                action="token.create",
                target=f"token:{info.id}",
                details={"user": user_id},
            )
            return info

    return secret, asyncio.run(run())


def _with_connection(
    store: StoreSettings, work: Callable[[psycopg.AsyncConnection[TupleRow]], Awaitable[T]]
) -> T:
    async def run() -> T:
        async with await psycopg.AsyncConnection.connect(store.url, autocommit=True) as conn:
            return await work(conn)

    return asyncio.run(run())


def revoke_token(store: StoreSettings, token_id: int) -> bool | None:
    """True: revoked now; False: revoked already; None: no such token."""
    return _with_connection(
        store, lambda conn: accounts.revoke_token(conn, token_id, actor=accounts.CLI_ACTOR)
    )


def list_tokens(store: StoreSettings, user_id: str | None = None) -> list[TokenInfo]:
    return _with_connection(store, lambda conn: tokens.list_tokens(conn, user_id))


def list_users(store: StoreSettings) -> list[User]:
    return _with_connection(store, users.list_users)


def deactivate_user(store: StoreSettings, user_id: str) -> User | None:
    """Deactivate a user and end their tokens and sessions; None: no such user."""
    return _with_connection(
        store, lambda conn: accounts.deactivate_user(conn, user_id, actor=accounts.CLI_ACTOR)
    )


def reset_password(store: StoreSettings, user_id: str, password: str) -> bool:
    """Set a user's password and end their sessions (raises UserError for a weak password);
    False: no such user."""
    from api.auth.passwords import hash_password

    problem = accounts.password_problem(password)
    if problem is not None:
        raise UserError(problem)
    password_hash = hash_password(password)
    return _with_connection(
        store,
        lambda conn: accounts.reset_password(
            conn, user_id, password_hash, actor=accounts.CLI_ACTOR
        ),
    )


def add_user_arguments(parser: argparse.ArgumentParser) -> None:
    """`courtyard users add USER_ID --role ROLE [--site S ...] [--person P] [--password]
    [--language L]`."""
    parser.add_argument("user_id", help="login name, [A-Za-z0-9_.@-]{1,64}")
    parser.add_argument("--name", help="display name (default: the user id)")
    parser.add_argument("--role", required=True, choices=[r.value for r in Role])
    parser.add_argument(
        "--site",
        action="append",
        default=[],
        dest="sites",
        help="a site the user may see (repeat for several)",
    )
    parser.add_argument("--all-sites", action="store_true", help="every site, present and future")
    parser.add_argument(
        "--person",
        help="the people id of a volunteer (their assignments decide which households they see)",
    )
    parser.add_argument(
        "--password",
        action="store_true",
        help="ask for a dashboard password (read from stdin when not a TTY)",
    )
    parser.add_argument(
        "--language",
        choices=list(LANGUAGES),
        help="the language of the user's pages (default: their person's, else the browser's,"
        " else the site's); users change it with the switch on every page",
    )


def add_token_arguments(parser: argparse.ArgumentParser, default_days: int) -> None:
    """`courtyard tokens create USER_ID [--name N] [--days D] [--scope S ...]`."""
    parser.add_argument("user_id")
    parser.add_argument("--name", default="api", help="what the token is for")
    parser.add_argument(
        "--days",
        type=int,
        default=default_days,
        help=f"valid this many days ({accounts.MIN_TOKEN_DAYS} to {accounts.MAX_TOKEN_DAYS})",
    )
    parser.add_argument(
        "--scope",
        action="append",
        dest="scopes",
        help="narrow to this permission (repeat); one of " + ", ".join(p.value for p in Permission),
    )


def add_token_list_arguments(parser: argparse.ArgumentParser) -> None:
    """`courtyard tokens list [USER_ID]`."""
    parser.add_argument("user_id", nargs="?", help="only this user's tokens")


def add_token_revoke_arguments(parser: argparse.ArgumentParser) -> None:
    """`courtyard tokens revoke TOKEN_ID`."""
    parser.add_argument("token_id", type=int, help="the id `tokens list` shows")


def add_user_id_argument(parser: argparse.ArgumentParser) -> None:
    """`courtyard users deactivate|reset-password USER_ID`."""
    parser.add_argument("user_id")


def _read_password(prompt: str = "password: ") -> str:
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().rstrip("\n")


def _fail(message: object) -> int:
    sys.stderr.write(f"courtyard: {message}\n")
    return 2


def add_user_command(args: argparse.Namespace, store: StoreSettings) -> int:
    password = _read_password() if args.password else None
    try:
        new = NewUser(
            user_id=args.user_id,
            name=args.name or args.user_id,
            role=args.role,
            person_id=args.person,
            sites=args.sites,
            all_sites=args.all_sites,
            language=args.language,
        )
        user = add_user(store, new, password=password)
    except UserError as exc:
        sys.stderr.write(f"courtyard: {exc}\n")
        return 2
    scope = "every site" if user.all_sites else ", ".join(user.sites) or "no site"
    sys.stdout.write(f"added {user.role} {user.id} ({scope})\n")
    return 0


def list_users_command(args: argparse.Namespace, store: StoreSettings) -> int:
    for user in list_users(store):
        scope = "every site" if user.all_sites else ",".join(user.sites) or "-"
        state = "active" if user.active else "deactivated"
        sys.stdout.write(
            f"{user.id}\t{user.role}\t{state}\t{scope}\t{user.person_id or '-'}\t{user.name}\n"
        )
    return 0


def deactivate_user_command(args: argparse.Namespace, store: StoreSettings) -> int:
    user = deactivate_user(store, args.user_id)
    if user is None:
        return _fail(f"no such user: {args.user_id}")
    sys.stdout.write(f"deactivated {user.id}; their tokens and sessions ended\n")
    return 0


def reset_password_command(args: argparse.Namespace, store: StoreSettings) -> int:
    password = _read_password("new password: ")
    if sys.stdin.isatty() and getpass.getpass("again: ") != password:
        return _fail("the two passwords differ")
    try:
        done = reset_password(store, args.user_id, password)
    except UserError as exc:
        return _fail(exc)
    if not done:
        return _fail(f"no such user: {args.user_id}")
    sys.stdout.write(f"password of {args.user_id} set; their sessions ended\n")
    return 0


def list_tokens_command(args: argparse.Namespace, store: StoreSettings) -> int:
    now = datetime.now(UTC)
    for token in list_tokens(store, args.user_id):
        if token.revoked_at is not None:
            state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}"
        elif token.expires_at <= now:
            state = f"expired {token.expires_at:%Y-%m-%d %H:%M}"
        else:
            state = f"valid until {token.expires_at:%Y-%m-%d %H:%M}"
        scopes = ",".join(token.scopes) if token.scopes is not None else "role"
        used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
        sys.stdout.write(
            f"{token.id}\t{token.user_id}\t{token.name}\t{scopes}\t{state}\tused {used}\n"
        )
    return 0


def revoke_token_command(args: argparse.Namespace, store: StoreSettings) -> int:
    revoked = revoke_token(store, args.token_id)
    if revoked is None:
        return _fail(f"no such token: {args.token_id}")
    sys.stdout.write(
        f"token {args.token_id} revoked\n" if revoked else f"token {args.token_id} was revoked\n"
    )
    return 0


def create_token_command(args: argparse.Namespace, store: StoreSettings) -> int:
    try:
        secret, info = create_token(
            store, user_id=args.user_id, name=args.name, days=args.days, scopes=args.scopes
        )
    except UserError as exc:
        sys.stderr.write(f"courtyard: {exc}\n")
        return 2
    sys.stderr.write(
        f"token {info.id} for {info.user_id}, valid until "
        f"{info.expires_at:%Y-%m-%d %H:%M} UTC; it is shown only now:\n"
    )
    sys.stdout.write(secret + "\n")
    return 0
