"""What people say a device is: check and apply an edit of its facts (name, names, kind, place,
household and role, install date, notes), register a device before it first speaks, and add a
kind to the catalogue.

Setting a kind or a role confirms it: ingest's suggestions never replace it again. Clearing it
(None) hands it back to the suggestions. Synchronous: the API calls these on its action pool, the
CLI directly; each function works in the caller's transaction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from store.devices.catalogue import Role

#: The facts an edit may set, in the order errors and changes are listed.
FIELDS = (
    "name",
    "names",
    "kind",
    "building_id",
    "unit",
    "room",
    "household_id",
    "role",
    "role_room",
    "installed_on",
    "notes",
)
#: Columns of `devices` set as they are given.
_PLAIN = ("name", "names", "building_id", "unit", "room", "installed_on", "notes")
#: A language tag of a per-language name: "en", "zh-CN", "zh-Hant-TW".
LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$")
DEVICE_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_NAME_CHARS = 200
MAX_TEXT_CHARS = 4000


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    #: A stable English identifier (`unknown_kind`, `role_needs_household` ...).
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    """A device's facts as they stand (for an edit's before/after and an import's plan)."""

    id: int | None  # None: not registered yet
    name: str | None
    names: dict[str, str]
    kind: str | None
    kind_confirmed: bool
    building_id: str | None
    unit: str | None
    room: str | None
    household_id: str | None
    role: str | None  # as people set it (None: suggested or none)
    role_room: str | None
    installed_on: date | None
    notes: str | None

    def value(self, field: str) -> object:
        if field == "kind":
            return self.kind if self.kind_confirmed else None
        return getattr(self, field)


_FACTS = """
SELECT k.key, d.id, d.name, coalesce(d.names, '{}'), d.kind, coalesce(d.kind_confirmed, false),
       d.building_id, d.unit, d.room, hd.household_id, hd.role, hd.role_room, d.installed_on,
       d.notes
FROM unnest(%s::text[]) AS k(key)
LEFT JOIN devices d ON d.site_id = %s AND d.device_key = k.key
LEFT JOIN household_devices hd ON hd.site_id = %s AND hd.device_key = k.key
"""


def facts_of(
    conn: psycopg.Connection[TupleRow], site_id: str, device_keys: list[str]
) -> dict[str, DeviceFacts]:
    """The facts of each device key of the site (a key with no device yet gets empty facts)."""
    rows = conn.execute(_FACTS, (device_keys, site_id, site_id)).fetchall()
    return {
        key: DeviceFacts(
            id=None if did is None else int(did),
            name=name,
            names=dict(names),
            kind=kind,
            kind_confirmed=bool(confirmed),
            building_id=building,
            unit=unit,
            room=room,
            household_id=household,
            role=role,
            role_room=role_room,
            installed_on=installed,
            notes=notes,
        )
        for (key, did, name, names, kind, confirmed, building, unit, room, household, role,
             role_room, installed, notes) in rows
    }  # fmt: skip


_SITE_FACTS = """
SELECT d.device_key FROM devices d
LEFT JOIN household_devices hd ON hd.site_id = d.site_id AND hd.device_key = d.device_key
WHERE d.site_id = %(site)s
  AND (%(kind)s::text IS NULL OR d.kind = %(kind)s)
  AND (%(household)s::text IS NULL OR hd.household_id = %(household)s)
ORDER BY d.device_key
"""


def site_facts(
    conn: psycopg.Connection[TupleRow],
    site_id: str,
    *,
    kind: str | None = None,
    household_id: str | None = None,
) -> dict[str, DeviceFacts]:
    """The facts of the site's devices (filtered by kind or household), by device id."""
    keys = [
        str(r[0])
        for r in conn.execute(
            _SITE_FACTS, {"site": site_id, "kind": kind, "household": household_id}
        ).fetchall()
    ]
    facts = facts_of(conn, site_id, keys)
    return {key: facts[key] for key in keys}


def check_values(values: Mapping[str, object]) -> list[FieldError]:
    """What is wrong with the values themselves, before looking at the store."""
    errors: list[FieldError] = []
    for field, value in values.items():
        if field not in FIELDS:
            errors.append(FieldError(field, "unknown_field", f"{field!r} is not a device fact"))
        elif value is None:
            continue
        elif field == "names":
            errors += _check_names(value)
        elif field == "installed_on":
            if not isinstance(value, date):
                errors.append(FieldError(field, "invalid_date", "must be a date (YYYY-MM-DD)"))
        elif not isinstance(value, str) or not value.strip() or "\0" in value:
            errors.append(FieldError(field, "invalid_text", "must be non-empty text"))
        elif field == "role" and value not in {r.value for r in Role}:
            allowed = ", ".join(r.value for r in Role)
            errors.append(FieldError(field, "unknown_role", f"{value!r} is not one of {allowed}"))
        elif field in ("building_id", "household_id", "kind") and not DEVICE_KEY.match(value):
            errors.append(FieldError(field, "invalid_id", "must match [A-Za-z0-9_.-]{1,64}"))
        elif len(value) > (MAX_TEXT_CHARS if field == "notes" else MAX_NAME_CHARS):
            errors.append(FieldError(field, "too_long", "is too long"))
    return errors


def _check_names(value: object) -> list[FieldError]:
    if not isinstance(value, Mapping):
        return [FieldError("names", "invalid_names", 'must map languages to names: {"en": ...}')]
    errors = []
    for tag, name in value.items():
        if not isinstance(tag, str) or not LANGUAGE_TAG.match(tag):
            errors.append(FieldError("names", "invalid_language", f"{tag!r} is no language tag"))
        elif not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS:
            errors.append(FieldError("names", "invalid_text", f"the {tag} name must be text"))
    return errors


@dataclass(frozen=True, slots=True)
class Known:
    """The ids an edit of a site's device may name: the catalogue's kinds, the site's
    buildings and households (read once for a whole import)."""

    kinds: frozenset[str]
    buildings: frozenset[str]
    households: frozenset[str]


def known_ids(conn: psycopg.Connection[TupleRow], site_id: str) -> Known:
    def ids(sql: str, *params: object) -> frozenset[str]:
        return frozenset(str(r[0]) for r in conn.execute(sql, params).fetchall())

    return Known(
        kinds=ids("SELECT code FROM device_kinds"),
        buildings=ids("SELECT id FROM buildings WHERE site_id = %s", site_id),
        households=ids("SELECT id FROM households WHERE site_id = %s", site_id),
    )


def check_edit(
    conn: psycopg.Connection[TupleRow],
    site_id: str,
    current: DeviceFacts,
    values: Mapping[str, object],
    known: Known | None = None,
) -> list[FieldError]:
    """Every reason the edit cannot apply to a device of the site whose facts are `current`."""
    errors = check_values(values)
    if errors:
        return errors
    known = known or known_ids(conn, site_id)
    kind = values.get("kind")
    if kind is not None and kind not in known.kinds:
        errors.append(FieldError("kind", "unknown_kind", f"{kind!r} is not in the catalogue"))
    building = values.get("building_id")
    if building is not None and building not in known.buildings:
        errors.append(FieldError("building_id", "unknown_building", f"no building {building!r}"))
    household = values.get("household_id", current.household_id)
    if "household_id" in values and household is not None and household not in known.households:
        errors.append(
            FieldError("household_id", "unknown_household", f"no household {household!r}")
        )
    role = values.get("role", current.role if household == current.household_id else None)
    if values.get("role") is not None and household is None:
        errors.append(
            FieldError("role", "role_needs_household", "only a household device has a role")
        )
    if values.get("role_room") is not None and role is None:
        errors.append(FieldError("role_room", "room_needs_role", "set the role with its room"))
    return errors


_REGISTER = """
INSERT INTO devices (site_id, device_key) VALUES (%s, %s)
ON CONFLICT (site_id, device_key) DO UPDATE SET device_key = excluded.device_key
RETURNING id
"""


def register(conn: psycopg.Connection[TupleRow], site_id: str, device_key: str) -> int:
    """The device's id, registering it (silent: no first_seen) when it has not spoken yet."""
    conn.execute("INSERT INTO sites (id) VALUES (%s) ON CONFLICT (id) DO NOTHING", (site_id,))
    row = conn.execute(_REGISTER, (site_id, device_key)).fetchone()
    assert row is not None
    return int(row[0])


def apply_edit(
    conn: psycopg.Connection[TupleRow],
    site_id: str,
    device_key: str,
    values: Mapping[str, object],
) -> int:
    """Set the facts `values` names (checked with check_edit first); returns the device id."""
    device_id = register(conn, site_id, device_key)
    plain = [f for f in _PLAIN if f in values]
    if plain:
        assignments = ", ".join(f"{f} = %({f})s" for f in plain)
        params = {f: Jsonb(values[f] or {}) if f == "names" else values[f] for f in plain}
        conn.execute(
            f"UPDATE devices SET {assignments} WHERE id = %(id)s", {**params, "id": device_id}
        )
    if "kind" in values:
        conn.execute(
            "UPDATE devices SET kind = coalesce(%(kind)s, kind), kind_confirmed = %(set)s"
            " WHERE id = %(id)s",
            {"kind": values["kind"], "set": values["kind"] is not None, "id": device_id},
        )
    if "household_id" in values:
        _place_in_household(conn, site_id, device_key, values["household_id"])
    if "role" in values or "role_room" in values:
        conn.execute(
            """
            UPDATE household_devices SET
                role = CASE WHEN %(has_role)s THEN %(role)s ELSE role END,
                role_room = CASE WHEN %(has_role)s AND %(role)s IS NULL THEN NULL
                                 WHEN %(has_room)s THEN %(room)s ELSE role_room END
            WHERE site_id = %(site)s AND device_key = %(key)s
            """,
            {
                "has_role": "role" in values,
                "role": values.get("role"),
                "has_room": "role_room" in values,
                "room": values.get("role_room"),
                "site": site_id,
                "key": device_key,
            },
        )
    return device_id


def _place_in_household(
    conn: psycopg.Connection[TupleRow], site_id: str, device_key: str, household: object
) -> None:
    if household is None:
        conn.execute(
            "DELETE FROM household_devices WHERE site_id = %s AND device_key = %s",
            (site_id, device_key),
        )
        return
    # Moving to another household drops the role people gave it there.
    conn.execute(
        """
        INSERT INTO household_devices (site_id, device_key, household_id) VALUES (%s, %s, %s)
        ON CONFLICT (site_id, device_key) DO UPDATE SET
            household_id = excluded.household_id,
            role = CASE WHEN household_devices.household_id = excluded.household_id
                        THEN household_devices.role END,
            role_room = CASE WHEN household_devices.household_id = excluded.household_id
                             THEN household_devices.role_room END
        """,
        (site_id, device_key, household),
    )


def changes(current: DeviceFacts, values: Mapping[str, object]) -> dict[str, tuple[object, object]]:
    """field -> (before, after) for each value that changes something. Giving a suggested kind
    as it stands is a change: it confirms it."""
    out: dict[str, tuple[object, object]] = {}
    for field in FIELDS:
        if field not in values:
            continue
        before, after = current.value(field), values[field]
        if field == "names":
            before, after = before or {}, after or {}
        if before != after:
            out[field] = (before, after)
    return out


def add_kind(
    conn: psycopg.Connection[TupleRow],
    code: str,
    category: str,
    name: str,
    names: Mapping[str, str] | None = None,
    household_role: str | None = None,
) -> None:
    """Add an operator's own kind to the catalogue (shipped kinds cannot be replaced)."""
    conn.execute(
        """
        INSERT INTO device_kinds (code, category, name, names, household_role)
        VALUES (%s, %s, %s, %s, %s)
        ON CONFLICT (code) DO UPDATE SET category = excluded.category, name = excluded.name,
            names = excluded.names, household_role = excluded.household_role
        WHERE NOT device_kinds.builtin
        """,
        (code, category, name, Jsonb(dict(names or {})), household_role),
    )
