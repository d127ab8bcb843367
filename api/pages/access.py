"""Who gets which dashboard pages: dependencies over the API's own principal (`CurrentUser`),
each caller's home page, and the sections their navigation shows.

The data on every page is narrowed by the caller's Visibility in the store's queries, exactly as
the API's; these checks only decide which kinds of page a role has. Facility pages (site
overviews, rejected messages) answer 404 to volunteers, who see nothing of facilities.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from api.auth.principals import Permission, Principal
from api.deps import CurrentUser
from api.errors import ApiError, forbidden

#: Navigation sections, in order.
SECTIONS = ("my", "sites", "alerts", "rejects")


def is_volunteer_view(user: Principal) -> bool:
    """Scoped to households (a volunteer): care alerts of those households, nothing else."""
    return user.visibility.households is not None


def sections(user: Principal) -> list[str]:
    """The sections of the dashboard this caller's navigation offers."""
    shown = []
    if is_volunteer_view(user):
        if user.can(Permission.ALERTS_READ):
            shown.append("my")
        return shown
    if user.can(Permission.ALERTS_READ) and user.can(Permission.DEVICES_READ):
        shown.append("sites")
    if user.can(Permission.ALERTS_READ):
        shown.append("alerts")
    if user.can(Permission.REJECTS_READ):
        shown.append("rejects")
    return shown


def home_of(user: Principal, visible_sites: list[str]) -> str | None:
    """Where the landing page sends this caller; None when no page fits their role."""
    shown = sections(user)
    if "my" in shown:
        return "/my"
    if "sites" in shown:
        return f"/sites/{visible_sites[0]}" if len(visible_sites) == 1 else "/sites"
    if "alerts" in shown:
        return "/alerts"
    if "rejects" in shown:
        return "/rejects"
    return None


def _not_found() -> ApiError:
    return ApiError(404, "Page not found.")


async def _facility_user(user: CurrentUser) -> Principal:
    if is_volunteer_view(user):
        raise _not_found()
    for permission in (Permission.DEVICES_READ, Permission.ALERTS_READ):
        if not user.can(permission):
            raise forbidden(permission.value)
    return user


async def _rejects_user(user: CurrentUser) -> Principal:
    if is_volunteer_view(user):
        raise _not_found()
    if not user.can(Permission.REJECTS_READ):
        raise forbidden(Permission.REJECTS_READ.value)
    return user


async def _volunteer_user(user: CurrentUser) -> Principal:
    if not is_volunteer_view(user):
        raise _not_found()
    if not user.can(Permission.ALERTS_READ):
        raise forbidden(Permission.ALERTS_READ.value)
    return user


#: Site overviews and their live part: devices and alerts of whole sites.
FacilityUser = Annotated[Principal, Depends(_facility_user)]
RejectsUser = Annotated[Principal, Depends(_rejects_user)]
#: The volunteer's home: their households and care alerts.
VolunteerUser = Annotated[Principal, Depends(_volunteer_user)]
