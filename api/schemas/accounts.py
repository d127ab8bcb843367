"""Users and API tokens, as admins manage them (never a token's secret or a password hash)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from api.accounts import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from api.schemas.common import Body, Model


class UserPublic(Model):
    id: str
    name: str
    role: str
    person_id: str | None
    all_sites: bool
    sites: list[str]
    active: bool


class TokenPublic(Model):
    id: int
    user_id: str
    name: str
    scopes: list[str] | None = Field(description="Null: every permission of the user's role.")
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class PasswordBody(Body):
    password: Annotated[
        str,
        StringConstraints(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH),
    ] = Field(description=f"At least {MIN_PASSWORD_LENGTH} characters.")
