"""Logging in to the dashboard, and who the caller is."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from api.schemas.common import Body, Model


class LoginRequest(Body):
    user_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class Me(Model):
    user_id: str
    name: str
    role: str
    person_id: str | None
    permissions: list[str]
    sites: list[str] | None = Field(description="Null: every site.")
    households: list[str] | None = Field(
        description="`<site>/<household>` a volunteer looks after; null for other roles."
    )
    via: str = Field(description="`token` or `session`.")
    csrf_token: str | None = Field(
        description="Sessions: send it back in `X-CSRF-Token` (or a `csrf_token` form field) "
        "with every request that changes something."
    )
