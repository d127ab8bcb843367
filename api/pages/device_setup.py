"""Managers set what devices are: a device's edit page (name and per-language names, kind, place,
household and role, install date, notes) and a household's setup page (which devices are in it
and the role each plays), suggestions pre-filled and marked until someone confirms them.

Who: `places:write` on the device's site, as the JSON API's PATCH /devices/{id}; the device or
household must be visible to the caller (404 otherwise). `CurrentUser` (behind `PlacesWriter`)
has checked the session's CSRF token in the forms. Writes go through api.pages.device_forms.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request
from starlette.responses import Response

from api.auth.principals import Principal
from api.deps import DbConn, PlacesWriter, Res
from api.errors import ApiError, not_found
from api.language import request_language
from api.pages import device_forms
from api.pages.access import is_volunteer_view
from api.pages.device_list import kind_options
from api.pages.routing import page_router, see_other
from api.pages.templates import render
from api.params import DeviceId, HouseholdId, SiteId
from store.devices import device_reads
from store.devices.device_reads import DeviceRow
from store.places import place_reads

router = page_router()

Done = Literal["saved", "unchanged"]
#: Devices of a site offered to a household (those in no household yet).
_CANDIDATES_SHOWN = 1000


async def _manager(user: PlacesWriter) -> Principal:
    if is_volunteer_view(user):
        raise ApiError(404, "Page not found.")
    return user


DeviceManager = Annotated[Principal, Depends(_manager)]


async def _device(conn: DbConn, user: Principal, device_id: int) -> DeviceRow:
    row = await device_reads.get_device(conn, user.visibility, device_id)
    if row is None:
        raise not_found("Device")
    return row


async def _edit_context(
    request: Request, conn: DbConn, user: Principal, row: DeviceRow
) -> dict[str, Any]:
    language = request_language(request, user)
    return {
        "device": row,
        "device_name": device_reads.display_name(row, language),
        "suggested": device_forms.suggested_of(row),
        "kinds": kind_options(await device_reads.kinds(conn), language),
        "buildings": await place_reads.list_buildings(conn, user.visibility, site_id=row.site_id),
        "households": await place_reads.list_households(conn, user.visibility, site_id=row.site_id),
        "roles": device_forms.role_options(language),
        "rooms": device_forms.room_options(language, row.role_room or ""),
        "zigbee": _zigbee(row),
    }


def _zigbee(row: DeviceRow) -> Mapping[str, object]:
    """What Zigbee2MQTT said of the device (the source of its suggestions), if it did."""
    described = row.attrs.get("zigbee2mqtt")
    return described if isinstance(described, Mapping) else {}


@router.get("/devices/{device_id}/edit")
async def edit_page(
    request: Request,
    conn: DbConn,
    user: DeviceManager,
    device_id: DeviceId,
    done: Annotated[Done | None, Query()] = None,
) -> Response:
    row = await _device(conn, user, device_id)
    context = await _edit_context(request, conn, user, row)
    return render(
        request,
        "device_edit.html",
        user,
        {**context, "form": device_forms.form_of(row), "errors": {}, "done": done},
    )


@router.post("/devices/{device_id}/edit")
async def edit(
    request: Request, conn: DbConn, res: Res, user: DeviceManager, device_id: DeviceId
) -> Response:
    row = await _device(conn, user, device_id)
    form = device_forms.submitted(await request.form())
    suggested = device_forms.suggested_of(row)
    outcome = await device_forms.save(
        conn, res, user, row.site_id, {row.device_key: (form, suggested)}
    )
    errors = outcome.errors.get(row.device_key)
    if errors:
        context = await _edit_context(request, conn, user, row)
        return render(
            request,
            "device_edit.html",
            user,
            {
                **context,
                "form": form,
                "errors": device_forms.field_errors(errors),
                "done": None,
            },
            status_code=422,
        )
    done = "saved" if outcome.changed else "unchanged"
    return see_other(f"/devices/{device_id}/edit?done={done}")


# The household's setup page: a row per device (role, room, confirm, remove) and one to add.


async def _household_context(
    request: Request, conn: DbConn, user: Principal, site_id: str, household_id: str
) -> dict[str, Any]:
    household = await place_reads.get_household(conn, user.visibility, site_id, household_id)
    if household is None:
        raise not_found("Household")
    language = request_language(request, user)
    devices = await device_reads.list_devices(
        conn, user.visibility, site_id=site_id, household_id=household_id, limit=500
    )
    site_devices = await device_reads.list_devices(
        conn, user.visibility, site_id=site_id, limit=_CANDIDATES_SHOWN
    )
    catalogue = kind_options(await device_reads.kinds(conn), language)
    return {
        "household": household,
        "devices": devices,
        "names": {d.device_key: device_reads.display_name(d, language) for d in site_devices},
        "candidates": [d for d in site_devices if d.household_id is None],
        "kind_names": {code: label for code, label, _ in catalogue},
        "roles": device_forms.role_options(language),
        "rooms": device_forms.room_options(language, *(d.role_room or "" for d in devices)),
    }


def _row_forms(devices: list[DeviceRow]) -> dict[str, dict[str, str]]:
    return {
        d.device_key: {
            "role": d.role or "",
            "role_room": d.role_room or "",
            "confirm_role": "",
            "remove": "",
        }
        for d in devices
    }


@router.get("/households/{site_id}/{household_id}/setup")
async def household_setup_page(
    request: Request,
    conn: DbConn,
    user: DeviceManager,
    site_id: SiteId,
    household_id: HouseholdId,
    done: Annotated[Done | None, Query()] = None,
) -> Response:
    context = await _household_context(request, conn, user, site_id, household_id)
    return render(
        request,
        "household_setup.html",
        user,
        {
            **context,
            "forms": _row_forms(context["devices"]),
            "add_form": {"add": "", "role": "", "role_room": ""},
            "errors": {},
            "done": done,
        },
    )


@router.post("/households/{site_id}/{household_id}/setup")
async def household_setup(
    request: Request,
    conn: DbConn,
    res: Res,
    user: DeviceManager,
    site_id: SiteId,
    household_id: HouseholdId,
) -> Response:
    context = await _household_context(request, conn, user, site_id, household_id)
    raw = await request.form()

    def text(name: str) -> str | None:
        value = raw.get(name)
        return value.strip() if isinstance(value, str) else None

    forms = {}
    edits: dict[str, tuple[Mapping[str, str], device_forms.Suggested]] = {}
    for d in context["devices"]:
        key = d.device_key
        sent = {f: text(f"{f}:{key}") for f in ("role", "role_room", "confirm_role", "remove")}
        forms[key] = {f: v or "" for f, v in sent.items()}
        if sent["remove"]:
            edit = {"household_id": ""}
        else:  # only what the form sends: a field left out changes nothing
            edit = {f: v for f, v in sent.items() if v is not None and f != "remove"}
        edits[key] = (edit, device_forms.suggested_of(d))
    add_form = {
        "add": text("add") or "",
        "role": text("add_role") or "",
        "role_room": text("add_role_room") or "",
    }
    errors: dict[str, dict[str, str]] = {}
    if add_form["add"]:
        candidates = {d.device_key: d for d in context["candidates"]}
        candidate = candidates.get(add_form["add"])
        if candidate is None:  # not a device of this site in no household (any more)
            errors["add"] = {"household_id": "unknown_device"}
        else:
            edit = {"household_id": household_id}
            if add_form["role"]:
                edit |= {"role": add_form["role"], "role_room": add_form["role_room"]}
            edits[candidate.device_key] = (edit, device_forms.Suggested(None, None, None))
    outcome = device_forms.Outcome()
    if not errors:
        outcome = await device_forms.save(conn, res, user, site_id, edits)
    for key, field_errors in outcome.errors.items():
        errors["add" if key == add_form["add"] else key] = device_forms.field_errors(field_errors)
    if errors:
        return render(
            request,
            "household_setup.html",
            user,
            {**context, "forms": forms, "add_form": add_form, "errors": errors, "done": None},
            status_code=422,
        )
    done = "saved" if outcome.changed else "unchanged"
    return see_other(f"/households/{site_id}/{household_id}/setup?done={done}")
