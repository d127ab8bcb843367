"""Who is calling: roles, the permissions each grants, and the data each may see (pure logic).

A role grants permissions (what kind of thing one may read or do); the user's sites or assigned
households narrow the data (which rows). A token may narrow the permissions further; an
integration user has only those its token names.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from store.access.identities import Identity
from store.access.visibility import Visibility


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    VOLUNTEER = "volunteer"
    OPERATOR = "operator"
    INTEGRATION = "integration"


class Permission(StrEnum):
    #: Device registry, latest values, readings and events.
    DEVICES_READ = "devices:read"
    ALERTS_READ = "alerts:read"
    #: Acknowledge, assign, comment, resolve, record care outcomes.
    ALERTS_WRITE = "alerts:write"
    RULES_READ = "rules:read"
    RULES_WRITE = "rules:write"
    REJECTS_READ = "rejects:read"
    #: Sites, households (pseudonymous labels), people and their assignments.
    PLACES_READ = "places:read"
    #: Create and change sites, households, people and assignments.
    PLACES_WRITE = "places:write"
    #: Residents' contact details; every read is written to the audit log.
    RESIDENTS_READ = "residents:read"
    #: List users and tokens, revoke tokens, deactivate users, reset passwords (admins only).
    ACCOUNTS_ADMIN = "accounts:admin"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.MANAGER: frozenset(
        {
            Permission.DEVICES_READ,
            Permission.ALERTS_READ,
            Permission.ALERTS_WRITE,
            Permission.RULES_READ,
            Permission.REJECTS_READ,
            Permission.PLACES_READ,
            Permission.PLACES_WRITE,
            Permission.RESIDENTS_READ,
        }
    ),
    Role.VOLUNTEER: frozenset(
        {
            Permission.DEVICES_READ,
            Permission.ALERTS_READ,
            Permission.ALERTS_WRITE,
            Permission.PLACES_READ,
            Permission.RESIDENTS_READ,
        }
    ),
    Role.OPERATOR: frozenset(
        {
            Permission.DEVICES_READ,
            Permission.RULES_READ,
            Permission.RULES_WRITE,
            Permission.REJECTS_READ,
        }
    ),
    # Only what each token names: see `permissions_for`. Never other users' accounts.
    Role.INTEGRATION: frozenset(Permission) - {Permission.ACCOUNTS_ADMIN},
}

#: Volunteers see care alerts only.
_VOLUNTEER_CATEGORIES = frozenset({"care"})


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str
    name: str
    role: Role
    person_id: str | None
    permissions: frozenset[Permission]
    visibility: Visibility
    via: Literal["token", "session"]
    #: The session's CSRF token (sessions only).
    csrf_token: str | None = None
    #: The user's own language setting (None: not chosen) and their site's default language.
    language: str | None = None
    site_language: str | None = None

    @property
    def actor(self) -> str:
        """How alert changes and the audit log name this caller."""
        return f"user:{self.user_id}"

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


def permissions_for(role: Role, token_scopes: list[str] | None) -> frozenset[Permission]:
    """The role's permissions, narrowed to the token's scopes when it names some.

    An integration token without scopes grants nothing: least privilege is explicit.
    Unknown scope names grant nothing either.
    """
    granted = ROLE_PERMISSIONS[role]
    if token_scopes is None:
        return frozenset() if role is Role.INTEGRATION else granted
    named = {p for p in Permission if p.value in set(token_scopes)}
    return granted & named


def visibility_for(identity: Identity) -> Visibility:
    role = Role(identity.role)
    if role is Role.VOLUNTEER:
        households = frozenset(zip(identity.household_sites, identity.household_ids, strict=True))
        return Visibility(
            sites=frozenset(site for site, _ in households),
            households=households,
            categories=_VOLUNTEER_CATEGORIES,
        )
    if role is Role.ADMIN or identity.all_sites:
        return Visibility.everything()
    return Visibility(sites=frozenset(identity.sites))


def principal_from(identity: Identity, via: Literal["token", "session"]) -> Principal:
    role = Role(identity.role)
    return Principal(
        user_id=identity.user_id,
        name=identity.name,
        role=role,
        person_id=identity.person_id,
        permissions=permissions_for(role, identity.token_scopes),
        visibility=visibility_for(identity),
        via=via,
        csrf_token=identity.csrf_token,
        language=identity.language,
        site_language=identity.site_language,
    )
