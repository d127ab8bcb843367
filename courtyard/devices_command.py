"""`courtyard devices list|set|import`: what devices are, from the terminal, with the store
functions and import parser the API uses (same checks, same audit log)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import psycopg

from courtyard.settings import ConfigError, Settings
from store.access.audit_log import record_sync
from store.devices import device_edits, device_imports
from store.devices.catalogue import Role
from store.devices.device_edits import FieldError
from store.devices.import_rows import RowError, parse_import

#: Who the audit log says did it.
ACTOR = "system"
_SUFFIX_FORMATS = {".csv": "csv", ".json": "json", ".yaml": "yaml", ".yml": "yaml"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(title="actions", dest="action", required=True)
    listing = actions.add_parser("list", help="list a site's devices and their facts")
    listing.add_argument("site")
    listing.add_argument("--kind", help="only devices of this kind")
    listing.add_argument("--household", help="only the devices of this household")

    edit = actions.add_parser(
        "set", help="set facts of one device (registering it if it has not spoken yet)"
    )
    edit.add_argument("site")
    edit.add_argument("device_key", help="the device id of its topic")
    edit.add_argument("--name")
    edit.add_argument(
        "--name-in", action="append", default=[], metavar="LANG=NAME",
        help="its name for readers of a language, e.g. zh-CN=冰箱门 (repeatable)",
    )  # fmt: skip
    edit.add_argument("--kind", help="a kind of the catalogue (confirms it)")
    edit.add_argument("--building", dest="building_id")
    edit.add_argument("--unit")
    edit.add_argument("--room")
    edit.add_argument("--household", dest="household_id")
    edit.add_argument("--role", choices=[r.value for r in Role], help="confirms it")
    edit.add_argument("--role-room", help="the room of a door or motion role (e.g. fridge)")
    edit.add_argument("--installed-on", type=date.fromisoformat, metavar="YYYY-MM-DD")
    edit.add_argument("--notes")
    edit.add_argument(
        "--clear", action="append", default=[], choices=device_edits.FIELDS, metavar="FACT",
        help="clear a fact (a kind or role goes back to the suggestions); repeatable",
    )  # fmt: skip

    bulk = actions.add_parser(
        "import", help="describe many devices from a CSV, JSON or YAML file (docs/devices.md)"
    )
    bulk.add_argument("site")
    bulk.add_argument("file", type=Path)
    bulk.add_argument("--format", choices=["csv", "json", "yaml"], help="default: by suffix")
    bulk.add_argument(
        "--dry-run", action="store_true", help="show what would change, change nothing"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.store.url:
        raise ConfigError("set COURTYARD_DATABASE_URL (or start `courtyard up` first)")
    with psycopg.connect(settings.store.url) as conn:
        if args.action == "list":
            return _list(conn, args)
        if args.action == "set":
            return _set(conn, args)
        return _import(conn, args)


def _list(conn: psycopg.Connection, args: argparse.Namespace) -> int:
    facts = device_edits.site_facts(conn, args.site, kind=args.kind, household_id=args.household)
    for key, f in facts.items():
        kind = f"{f.kind}{'' if f.kind_confirmed else ' (suggested)'}" if f.kind else "-"
        place = "/".join(p for p in (f.building_id, f.unit, f.room) if p) or "-"
        role = f"{f.role}{':' + f.role_room if f.role_room else ''}" if f.role else "-"
        sys.stdout.write(
            f"{key}\t{kind}\t{f.name or '-'}\t{place}\t{f.household_id or '-'}\t{role}\n"
        )
    return 0


def _set(conn: psycopg.Connection, args: argparse.Namespace) -> int:
    values: dict[str, object] = {f: None for f in args.clear}
    for field in ("name", "kind", "building_id", "unit", "room", "household_id", "role",
                  "role_room", "installed_on", "notes"):  # fmt: skip
        value = getattr(args, field)
        if value is not None:
            values[field] = value
    if args.name_in:
        pairs = [item.partition("=") for item in args.name_in]
        values["names"] = {lang: name for lang, _, name in pairs}
    if not values:
        sys.stderr.write("courtyard devices set: nothing to set\n")
        return 2
    with conn.transaction():
        current = device_edits.facts_of(conn, args.site, [args.device_key])[args.device_key]
        errors = device_edits.check_edit(conn, args.site, current, values)
        if errors:
            return _field_errors(errors)
        changed = device_edits.changes(current, values)
        device_edits.apply_edit(conn, args.site, args.device_key, values)
        if changed:
            record_sync(
                conn, actor=ACTOR, action="device.write",
                target=f"device:{args.site}/{args.device_key}", site_id=args.site,
                details={"changes": {f: _text(a) for f, (_, a) in changed.items()}},
            )  # fmt: skip
    _print_changes(args.device_key, "create" if current.id is None else "update", changed)
    return 0


def _import(conn: psycopg.Connection, args: argparse.Namespace) -> int:
    fmt = args.format or _SUFFIX_FORMATS.get(args.file.suffix.lower())
    if fmt is None:
        sys.stderr.write("courtyard devices import: say --format csv, json or yaml\n")
        return 2
    rows, errors = parse_import(args.file.read_text(encoding="utf-8"), fmt)
    if errors:
        return _row_errors(errors)
    with conn.transaction():
        plan = device_imports.plan_import(conn, args.site, rows)
        if plan.errors:
            return _row_errors(plan.errors)
        if not args.dry_run:
            done = device_imports.apply_import(conn, args.site, rows, plan)
            if done:
                record_sync(
                    conn, actor=ACTOR, action="device.import", target=f"site:{args.site}",
                    site_id=args.site,
                    details={
                        "rows": len(rows),
                        "created": [r.device_key for r in plan.rows if r.action == "create"],
                        "updated": [r.device_key for r in plan.rows if r.action == "update"],
                    },
                )  # fmt: skip
    for planned in plan.rows:
        _print_changes(planned.device_key, planned.action, planned.changes, planned.row)
    verb = "would change" if args.dry_run else "changed"
    count = sum(r.action != "unchanged" for r in plan.rows)
    sys.stdout.write(f"{verb} {count} of {len(plan.rows)} devices\n")
    return 0


def _print_changes(
    key: str, action: str, changed: Mapping[str, tuple[object, object]], row: int | None = None
) -> None:
    where = "" if row is None else f"row {row}\t"
    sys.stdout.write(f"{where}{key}\t{action}\n")
    for field, (before, after) in changed.items():
        sys.stdout.write(f"\t{field}: {_text(before)} -> {_text(after)}\n")


def _text(value: object) -> str:
    if value is None:
        return "-"
    return value.isoformat() if isinstance(value, date) else str(value)


def _field_errors(errors: list[FieldError]) -> int:
    for e in errors:
        sys.stderr.write(f"{e.field}: {e.code}: {e.message}\n")
    return 1


def _row_errors(errors: tuple[RowError, ...] | list[RowError]) -> int:
    for e in errors:
        where = f"row {e.row}" if e.row else "file"
        sys.stderr.write(f"{where}\t{e.field or '-'}: {e.code}: {e.message}\n")
    sys.stderr.write("nothing was applied\n")
    return 1
