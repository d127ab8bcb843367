"""Sites, buildings, households, people and their assignments."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from api.schemas.common import Body, Identifier, Model

Label = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
Zone = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_+/-]+$")]


class SitePublic(Model):
    id: str
    name: str | None
    timezone: str
    created_at: datetime
    devices: int
    households: int


class SiteBody(Body):
    name: Label | None = None
    timezone: Zone = Field(description="IANA time zone, e.g. `Asia/Shanghai`.")


class BuildingPublic(Model):
    site_id: str
    id: str
    name: str
    floors: int | None = Field(description="Floors above ground; null when not known.")
    created_at: datetime


class BuildingBody(Body):
    name: Label
    floors: int | None = Field(default=None, ge=1, le=500, description="Floors above ground.")


class HouseholdPublic(Model):
    site_id: str
    id: str
    label: str = Field(description="Pseudonymous label, e.g. `Room 1-402`.")
    building_id: str | None = Field(
        description="The building of the site it is in; null when not said."
    )
    timezone: str | None
    quiet_start: time | None
    quiet_end: time | None
    devices: list[str] = Field(description="Device ids of the household's sensors.")


class HouseholdDetail(HouseholdPublic):
    contact: dict[str, object] | None = Field(
        description="The resident's contact details, for the assigned volunteers and the "
        "site's managers only (each read is audited); null for anyone else."
    )


class BuildingDetail(BuildingPublic):
    households: list[HouseholdPublic] = Field(
        description="The building's households the caller may see (no contact details)."
    )


class HouseholdBody(Body):
    label: Label
    building_id: Identifier | None = Field(
        default=None, description="A building of the same site (`PUT /buildings/...` first)."
    )
    timezone: Zone | None = None
    quiet_start: time | None = None
    quiet_end: time | None = None
    contact: dict[str, object] = Field(default_factory=dict)
    devices: list[Identifier] = Field(default_factory=list, max_length=500)


PersonKind = Literal["volunteer", "staff", "manager"]
Language = Literal["zh-CN", "en"]


class PersonPublic(Model):
    id: str
    name: str
    kind: PersonKind
    language: Language
    active: bool
    channels: dict[str, object] | None = Field(
        description="Where the person is notified; shown to those who manage people only."
    )


class PersonBody(Body):
    name: Label
    kind: PersonKind
    language: Language = "zh-CN"
    channels: dict[str, object] = Field(default_factory=dict)


AssignmentRole = Literal["primary", "backup", "staff", "manager"]


class AssignmentPublic(Model):
    id: int
    person_id: str
    site_id: str
    household_id: str | None
    role: AssignmentRole


class FirstAssignment(Body):
    site_id: Identifier
    household_id: Identifier | None = Field(
        default=None, description="Required for `primary` and `backup`, absent otherwise."
    )
    role: AssignmentRole


class AssignmentBody(FirstAssignment):
    person_id: Identifier


class NewPersonBody(PersonBody):
    assignment: FirstAssignment | None = Field(
        default=None,
        description="Where the person starts, made with them. Required of callers who do not "
        "see every site: they see (and may assign) only the people assigned at their sites.",
    )
