"""What people say devices are: the kind catalogue, editing a device's facts, and a bulk import
of a site's devices (CSV or JSON) with a dry run.

Editing needs `places:write` on the device's site (managers of that site, admins); volunteers and
operators cannot. Every write is audited (`device.write`, `device.import`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from api.deps import DbConn, DevicesReader, PlacesWriter, Res
from api.errors import ApiError, not_found
from api.language import Language
from api.params import DeviceId, SiteId
from api.routes.devices import device_detail
from api.schemas.common import error_responses
from api.schemas.devices import (
    DeviceDetail,
    DeviceUpdate,
    FieldChange,
    ImportResult,
    ImportRowResult,
    KindPublic,
)
from i18n import labels
from i18n.languages import translations
from store.access import audit_log
from store.devices import device_edits, device_imports, device_reads
from store.devices.device_edits import FieldError
from store.devices.import_rows import RowError, parse_import
from store.places import place_reads

router = APIRouter(tags=["devices"], responses=error_responses(400, 401, 403, 422))

_FORMATS = {
    "text/csv": "csv",
    "application/json": "json",
    "application/yaml": "yaml",
    "text/yaml": "yaml",
}
#: An import larger than this is refused unread (some 20,000 rows of CSV).
MAX_IMPORT_BYTES = 4 * 1024 * 1024


@router.get("/devices/kinds", response_model=list[KindPublic])
async def list_kinds(conn: DbConn, user: DevicesReader, language: Language) -> list[KindPublic]:
    """The kind catalogue, with labels in the caller's language."""
    tr = translations(language)
    out = []
    for k in await device_reads.kinds(conn):
        own = k.names.get(language) or k.name
        label = labels.kind_label(k.code, tr) if k.builtin or not own else own
        out.append(
            KindPublic(
                code=k.code,
                category=k.category,  # type: ignore[arg-type]  # the store's CHECK holds it
                label=label,
                household_role=k.household_role,  # type: ignore[arg-type]
                builtin=k.builtin,
            )
        )
    return out


@router.patch("/devices/{device_id}", response_model=DeviceDetail, responses=error_responses(404))
async def update_device(
    conn: DbConn,
    res: Res,
    user: PlacesWriter,
    device_id: DeviceId,
    body: DeviceUpdate,
    language: Language,
) -> DeviceDetail:
    """Set a device's facts: name and names, kind, building, unit, room, household and role,
    install date, notes. Only the fields sent change; null clears one."""
    row = await device_reads.get_device(conn, user.visibility, device_id)
    if row is None or user.visibility.households is not None:
        raise not_found("Device")
    values = {field: getattr(body, field) for field in body.model_fields_set}
    site, key = row.site_id, row.device_key

    def write() -> tuple[list[FieldError], dict[str, tuple[object, object]]]:
        with res.action_pool.connection() as c, c.transaction():
            current = device_edits.facts_of(c, site, [key])[key]
            errors = device_edits.check_edit(c, site, current, values)
            if errors:
                return errors, {}
            changed = device_edits.changes(current, values)
            device_edits.apply_edit(c, site, key, values)
            return [], changed

    errors, changed = await run_in_threadpool(write)
    if errors:
        raise ApiError(
            422,
            "The device cannot take these facts.",
            code="invalid_device_facts",
            fields=[(f"body.{e.field}", f"{e.code}: {e.message}") for e in errors],
        )
    if changed:
        await audit_log.record(
            conn,
            actor=user.actor,
            action="device.write",
            target=f"device:{site}/{key}",
            site_id=site,
            details={"changes": _plain(changed)},
        )
    return await device_detail(conn, user, device_id, language)


@router.post(
    "/sites/{site_id}/devices/import",
    response_model=ImportResult,
    responses=error_responses(404, 413, 415),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                "application/yaml": {"schema": {"type": "string"}},
            },
        }
    },
)
async def import_devices(
    conn: DbConn,
    res: Res,
    user: PlacesWriter,
    site_id: SiteId,
    request: Request,
    dry_run: Annotated[
        bool, Query(description="Answer what would change, and change nothing.")
    ] = False,
) -> ImportResult:
    """Describe many devices of a site at once, from CSV (`text/csv`, a header row), JSON
    (`application/json`, an array of objects) or YAML (`application/yaml`, a list).

    Columns: `device_key` (required), `name`, `name.<language>`, `kind`, `building`, `unit`,
    `room`, `household`, `role`, `role_room`, `installed_on`, `notes`; an empty cell leaves a
    fact as it is. A device not registered yet is created (silent until it first speaks). Any
    wrong row: nothing is applied, and the 422 names every wrong row and field
    (`rows[3].kind`)."""
    if not user.visibility.allows_site(site_id) or user.visibility.households is not None:
        raise not_found("Site")
    if not await place_reads.site_exists(conn, site_id):
        raise not_found("Site")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt = _FORMATS.get(content_type)
    if fmt is None:
        raise ApiError(415, "Send text/csv, application/json or application/yaml.")
    raw = await request.body()
    if len(raw) > MAX_IMPORT_BYTES:
        raise ApiError(413, f"An import is at most {MAX_IMPORT_BYTES} bytes.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "The file must be UTF-8 text.") from exc
    rows, parse_errors = parse_import(text, fmt)
    if parse_errors:
        raise _import_error(parse_errors)

    def run() -> tuple[device_imports.ImportPlan, int]:
        with res.action_pool.connection() as c, c.transaction():
            plan = device_imports.plan_import(c, site_id, rows)
            if plan.errors or dry_run:
                return plan, 0
            return plan, device_imports.apply_import(c, site_id, rows, plan)

    plan, applied = await run_in_threadpool(run)
    if plan.errors:
        raise _import_error(plan.errors)
    if applied:
        await audit_log.record(
            conn,
            actor=user.actor,
            action="device.import",
            target=f"site:{site_id}",
            site_id=site_id,
            details={
                "rows": len(rows),
                "created": [r.device_key for r in plan.rows if r.action == "create"],
                "updated": [r.device_key for r in plan.rows if r.action == "update"],
            },
        )
    return ImportResult(
        dry_run=dry_run,
        applied=applied,
        rows=[
            ImportRowResult(
                row=r.row,
                device_key=r.device_key,
                action=r.action,  # type: ignore[arg-type]  # create | update | unchanged
                changes=[
                    FieldChange(field=f, before=_json(b), after=_json(a))
                    for f, (b, a) in r.changes.items()
                ],
            )
            for r in plan.rows
        ],
    )


def _import_error(errors: Sequence[RowError]) -> ApiError:
    return ApiError(
        422,
        "The import has wrong rows; nothing was applied.",
        code="invalid_import",
        fields=[
            (f"rows[{e.row}].{e.field}" if e.row else e.field or "file", f"{e.code}: {e.message}")
            for e in errors
        ],
    )


def _json(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def _plain(changed: Mapping[str, tuple[object, object]]) -> dict[str, object]:
    return {field: _json(after) for field, (_, after) in changed.items()}
