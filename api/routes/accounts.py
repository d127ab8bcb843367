"""Users and API tokens, for admins: list them, revoke tokens, deactivate users, set passwords.

What `courtyard users|tokens` does, through the API: only an admin whose token or session grants
`accounts:admin` gets here (an integration token never does). Every change is audited with the
admin as its actor, takes effect at once in every API process (the store NOTIFYs them; this
process also drops its cached authentications itself), and ends any open stream of the user.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from starlette.concurrency import run_in_threadpool

from api import accounts
from api.auth.passwords import hash_password
from api.auth.principals import Permission, Principal, Role
from api.deps import CurrentUser, DbConn, Res
from api.errors import forbidden, invalid, not_found
from api.schemas.accounts import PasswordBody, TokenPublic, UserPublic
from api.schemas.common import MAX_ID, error_responses
from store.access import tokens, users
from store.access.tokens import TokenInfo
from store.access.users import User

router = APIRouter(tags=["accounts"], responses=error_responses(400, 401, 403, 422))

UserId = Annotated[str, Path(pattern=accounts.USER_ID_PATTERN, description="A user id.")]
TokenId = Annotated[int, Path(ge=1, le=MAX_ID, description="A token id.")]


async def _admin(user: CurrentUser) -> Principal:
    # Both: the role, and a token not narrowed to other permissions.
    if user.role is not Role.ADMIN or not user.can(Permission.ACCOUNTS_ADMIN):
        raise forbidden(Permission.ACCOUNTS_ADMIN.value)
    return user


AccountsAdmin = Annotated[Principal, Depends(_admin)]


def user_public(user: User) -> UserPublic:
    return UserPublic(
        id=user.id,
        name=user.name,
        role=user.role,
        person_id=user.person_id,
        all_sites=user.all_sites,
        sites=user.sites,
        active=user.active,
    )


def token_public(token: TokenInfo) -> TokenPublic:
    return TokenPublic(
        id=token.id,
        user_id=token.user_id,
        name=token.name,
        scopes=token.scopes,
        created_at=token.created_at,
        expires_at=token.expires_at,
        revoked_at=token.revoked_at,
        last_used_at=token.last_used_at,
    )


@router.get("/users", response_model=list[UserPublic])
async def list_users(conn: DbConn, admin: AccountsAdmin) -> list[UserPublic]:
    """Every user: role, sites, linked person, whether active."""
    return [user_public(u) for u in await users.list_users(conn)]


@router.post(
    "/users/{user_id}/deactivate", response_model=UserPublic, responses=error_responses(404)
)
async def deactivate_user(
    conn: DbConn, res: Res, admin: AccountsAdmin, user_id: UserId
) -> UserPublic:
    """Deactivate a user: their tokens are revoked and their sessions ended at once (open
    streams close within seconds). Not yourself: another admin must."""
    if user_id == admin.user_id:
        raise invalid("path.user_id", "you cannot deactivate yourself")
    user = await accounts.deactivate_user(conn, user_id, actor=admin.actor)
    if user is None:
        raise not_found("User")
    res.auth_cache.clear()
    return user_public(user)


@router.put("/users/{user_id}/password", status_code=204, responses=error_responses(404))
async def reset_password(
    conn: DbConn, res: Res, admin: AccountsAdmin, user_id: UserId, body: PasswordBody
) -> Response:
    """Set a user's dashboard password; their sessions end (their tokens stay)."""
    problem = accounts.password_problem(body.password)
    if problem is not None:
        raise invalid("body.password", problem)
    if await users.get_user(conn, user_id) is None:
        raise not_found("User")
    # argon2 takes tens of milliseconds of CPU: off the event loop.
    password_hash = await run_in_threadpool(hash_password, body.password)
    if not await accounts.reset_password(conn, user_id, password_hash, actor=admin.actor):
        raise not_found("User")
    return Response(status_code=204)


@router.get("/tokens", response_model=list[TokenPublic])
async def list_tokens(
    conn: DbConn,
    admin: AccountsAdmin,
    user: Annotated[
        str | None, Query(pattern=accounts.USER_ID_PATTERN, description="Only this user's.")
    ] = None,
) -> list[TokenPublic]:
    """Every token, revoked and expired ones too (never a secret)."""
    return [token_public(t) for t in await tokens.list_tokens(conn, user)]


@router.delete("/tokens/{token_id}", status_code=204, responses=error_responses(404))
async def revoke_token(conn: DbConn, res: Res, admin: AccountsAdmin, token_id: TokenId) -> Response:
    """Revoke a token: it stops working at once (revoking it again changes nothing)."""
    if await accounts.revoke_token(conn, token_id, actor=admin.actor) is None:
        raise not_found("Token")
    res.auth_cache.clear()
    return Response(status_code=204)
