"""What a device form means: turn submitted text into the facts an edit sets
(store.devices.device_edits), and write edits as the JSON API writes them (checked, applied in one
transaction on the action pool, each changed device in the audit log as `device.write`).

A form shows suggested kinds and roles pre-filled. Sending the suggestion back unchanged keeps it
a suggestion unless the form's "confirm" box is ticked; choosing another value confirms that one.
Only fields whose value differs from what stands are sent to the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from starlette.concurrency import run_in_threadpool

from api.auth.principals import Principal
from api.deps import DbConn, Res
from i18n import labels
from i18n.languages import translations
from store.access import audit_log
from store.devices import device_edits
from store.devices.catalogue import ROOMS, Role
from store.devices.device_edits import DeviceFacts, FieldError
from store.devices.device_reads import DeviceRow

#: The languages a form names a device in, besides its plain name.
NAME_LANGUAGES = ("en", "zh-CN")
FORM_FIELDS = (
    "name",
    "name.en",
    "name.zh-CN",
    "kind",
    "confirm_kind",
    "building_id",
    "unit",
    "room",
    "household_id",
    "role",
    "confirm_role",
    "role_room",
    "installed_on",
    "notes",
)


@dataclass(frozen=True, slots=True)
class Suggested:
    """What Courtyard suggests and people have not confirmed (None: nothing pending)."""

    kind: str | None
    role: str | None
    role_room: str | None


def suggested_of(row: DeviceRow) -> Suggested:
    return Suggested(
        kind=row.kind if row.kind and not row.kind_confirmed else None,
        role=row.role if row.role and not row.role_confirmed else None,
        role_room=row.role_room if row.role and not row.role_confirmed else None,
    )


def form_of(row: DeviceRow) -> dict[str, str]:
    """The form's fields as a device's facts stand, suggestions pre-filled."""
    values = {
        "name": row.name or "",
        "kind": row.kind or "",
        "building_id": row.building_id or "",
        "unit": row.unit or "",
        "room": row.room or "",
        "household_id": row.household_id or "",
        "role": row.role or "",
        "role_room": row.role_room or "",
        "installed_on": row.installed_on.isoformat() if row.installed_on else "",
        "notes": row.notes or "",
    }
    for language in NAME_LANGUAGES:
        values[f"name.{language}"] = row.names.get(language, "")
    return values


def submitted(form: Mapping[str, object], prefix: str = "") -> dict[str, str]:
    """The form's text fields (`prefix` + name) that it has, stripped: a field not sent is
    left as it stands."""
    out = {}
    for name in FORM_FIELDS:
        value = form.get(prefix + name)
        if isinstance(value, str):
            out[name] = value.strip()
    return out


def _text(value: str) -> str | None:
    return value or None


def edit_values(
    form: Mapping[str, str], current: DeviceFacts, suggested: Suggested
) -> tuple[dict[str, object], list[FieldError]]:
    """The facts the form changes, and what cannot even be read (a date that is no date)."""
    values: dict[str, object] = {}
    errors: list[FieldError] = []
    for plain in ("name", "building_id", "unit", "room", "household_id", "notes"):
        if plain in form and _text(form[plain]) != getattr(current, plain):
            values[plain] = _text(form[plain])
    if any(f"name.{language}" in form for language in NAME_LANGUAGES):
        names = dict(current.names)
        for language in NAME_LANGUAGES:
            if f"name.{language}" not in form:
                continue
            given = form[f"name.{language}"]
            if given:
                names[language] = given
            else:
                names.pop(language, None)
        if names != current.names:
            values["names"] = names or None
    if "kind" in form:
        kind = _text(form["kind"])
        standing = current.kind if current.kind_confirmed else None
        if suggested.kind is not None and kind in (None, suggested.kind):
            # The suggestion sent back: confirmed only when the box says so.
            if kind is not None and form.get("confirm_kind"):
                values["kind"] = kind
        elif kind != standing:
            values["kind"] = kind
    if "role" in form:
        role = _text(form["role"])
        room_sent = "role_room" in form
        room = _text(form.get("role_room", ""))
        moved = "household_id" in values
        if moved and values["household_id"] is None:
            pass  # out of its household: no role to keep
        elif suggested.role is not None and current.role is None and role in (None, suggested.role):
            # The suggestion sent back: confirmed only when the box says so.
            if role is not None and form.get("confirm_role") and not moved:
                values["role"] = role
                values["role_room"] = room if room_sent else suggested.role_room
        elif role != current.role or moved:
            values["role"] = role
            if role is not None and room_sent:
                values["role_room"] = room
        elif role is not None and room_sent and room != current.role_room:
            values["role_room"] = room
    if "installed_on" in form:
        try:
            installed = date.fromisoformat(form["installed_on"]) if form["installed_on"] else None
        except ValueError:
            errors.append(FieldError("installed_on", "invalid_date", "must be YYYY-MM-DD"))
        else:
            if installed != current.installed_on:
                values["installed_on"] = installed
    return values, errors


@dataclass
class Outcome:
    """What a save did: errors by device id (nothing applied then), else the devices changed."""

    errors: dict[str, list[FieldError]] = field(default_factory=dict)
    changed: dict[str, dict[str, tuple[object, object]]] = field(default_factory=dict)


async def save(
    conn: DbConn,
    res: Res,
    user: Principal,
    site_id: str,
    edits: Mapping[str, tuple[Mapping[str, str], Suggested]],
) -> Outcome:
    """Check and apply the forms of the site's devices (device id -> form, suggestions) in one
    transaction: any error and nothing is applied. Then each changed device is audited."""
    keys = list(edits)

    def write() -> Outcome:
        outcome = Outcome()
        with res.action_pool.connection() as c, c.transaction():
            facts = device_edits.facts_of(c, site_id, keys)
            known = device_edits.known_ids(c, site_id)
            planned = {}
            for key in keys:
                form, suggested = edits[key]
                values, errors = edit_values(form, facts[key], suggested)
                errors += device_edits.check_edit(c, site_id, facts[key], values, known)
                if errors:
                    outcome.errors[key] = errors
                planned[key] = values
            if outcome.errors:
                return outcome
            for key, values in planned.items():
                changed = device_edits.changes(facts[key], values)
                if changed:
                    device_edits.apply_edit(c, site_id, key, values)
                    outcome.changed[key] = changed
        return outcome

    outcome = await run_in_threadpool(write)
    for key, changed in outcome.changed.items():
        await audit_log.record(
            conn,
            actor=user.actor,
            action="device.write",
            target=f"device:{site_id}/{key}",
            site_id=site_id,
            details={"changes": {f: _json(after) for f, (_, after) in changed.items()}},
        )
    return outcome


def _json(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def role_options(language: str) -> list[tuple[str, str]]:
    tr = translations(language)
    return [(r.value, labels.role_label(r.value, tr)) for r in Role]


def room_options(language: str, *keep: str) -> list[tuple[str, str]]:
    """The rooms suggestions name, labelled; rooms people typed (`keep`) as they are."""
    tr = translations(language)
    rooms = [(r, labels.room_label(r, tr)) for r in ROOMS]
    known = set(ROOMS)
    for room in keep:
        if room and room not in known:
            rooms.append((room, room))
            known.add(room)
    return rooms


def field_errors(errors: list[FieldError]) -> dict[str, str]:
    """The first error code of each form field (per-language names share the name's field)."""
    out: dict[str, str] = {}
    for e in errors:
        out.setdefault("names" if e.field == "names" else e.field, e.code)
    return out
