"""A site's devices: search by name or id, filter by kind, building and state, page forward
(keyset, the filters in the address so that a list can be shared and reloaded).

For the people who look after a site's devices (not volunteers, who see their households only).
Each device is shown by its name in the reader's language; its id is beside it for those who
fit and configure devices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from starlette.responses import Response

from api.auth.principals import Permission, Principal
from api.deps import CurrentUser, DbConn
from api.errors import ApiError, forbidden, not_found
from api.language import request_language
from api.pages.access import is_volunteer_view
from api.pages.routing import page_router
from api.pages.templates import render
from api.params import SiteId
from i18n import labels
from i18n.languages import translations
from store.devices import device_reads
from store.devices.device_reads import DEVICE_STATES, UNKNOWN_KIND, DeviceRow
from store.places import place_reads

router = page_router()

PAGE_SIZE = 50
#: The form sends "" for "any state" (as for any kind or building).
State = Literal["", "alerting", "online", "offline", "unknown"]
IdText = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_.-]*$")]


async def _device_reader(user: CurrentUser) -> Principal:
    if is_volunteer_view(user):
        raise ApiError(404, "Page not found.")
    if not user.can(Permission.DEVICES_READ):
        raise forbidden(Permission.DEVICES_READ.value)
    return user


#: Facility people who read devices (managers, operators, admins); volunteers get 404.
DeviceReader = Annotated[Principal, Depends(_device_reader)]


@dataclass(frozen=True, slots=True)
class ListedDevice:
    row: DeviceRow
    name: str
    #: The name is the device id (nobody named it yet).
    unnamed: bool
    state: str


def listed(row: DeviceRow, language: str) -> ListedDevice:
    name = device_reads.display_name(row, language)
    return ListedDevice(row, name, name == row.device_key, row.state)


def kind_options(kinds: list[device_reads.KindRow], language: str) -> list[tuple[str, str, str]]:
    """(code, label, category label) of each kind of the catalogue, in the reader's language."""
    tr = translations(language)
    out = []
    for k in kinds:
        own = k.names.get(language) or k.name
        label = labels.kind_label(k.code, tr) if k.builtin or not own else own
        out.append((k.code, label, labels.kind_category_label(k.category, tr)))
    return out


@router.get("/sites/{site_id}/devices")
async def device_list(
    request: Request,
    conn: DbConn,
    user: DeviceReader,
    site_id: SiteId,
    q: Annotated[str | None, Query(max_length=200)] = None,
    kind: IdText = None,
    building: IdText = None,
    state: State | None = None,
    after: IdText = None,
) -> Response:
    site = await place_reads.get_site(conn, user.visibility, site_id)
    if site is None:
        raise not_found("Site")
    language = request_language(request, user)
    search = (q or "").strip() or None
    rows = await device_reads.list_devices(
        conn,
        user.visibility,
        site_id=site_id,
        kind=kind or None,
        status=state or None,
        building_id=building or None,
        search=search,
        after=(site_id, after) if after else None,
        limit=PAGE_SIZE + 1,
    )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    filters = {"q": search, "kind": kind, "building": building, "state": state or None}
    kept = {k: v for k, v in filters.items() if v}
    next_url = (
        f"/sites/{site_id}/devices?{urlencode({**kept, 'after': rows[-1].device_key})}"
        if more
        else None
    )
    first_url = f"/sites/{site_id}/devices" + (f"?{urlencode(kept)}" if kept else "")
    kinds = kind_options(await device_reads.kinds(conn), language)
    unknown = labels.kind_label(UNKNOWN_KIND, translations(language))
    buildings = await place_reads.list_buildings(conn, user.visibility, site_id=site_id)
    return render(
        request,
        "devices.html",
        user,
        {
            "site": site,
            "zone": site.timezone,
            "devices": [listed(r, language) for r in rows],
            "filters": filters,
            "filtered": bool(kept),
            "kinds": [*kinds, (UNKNOWN_KIND, unknown, "")],
            "kind_names": {code: label for code, label, _ in kinds},
            "buildings": buildings,
            "building_names": {b.id: b.name for b in buildings},
            "states": DEVICE_STATES,
            "next_url": next_url,
            "first_url": first_url if after else None,
            "can_edit": user.can(Permission.PLACES_WRITE),
        },
    )
