"""`courtyard sites list|add|set` and `courtyard households list|add|set`: the community's
places from the terminal, with the checks the API makes (a zone the server knows, a building of
the site, quiet hours as a pair), provisioning's upserts and an audit record per change."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time

import psycopg
from psycopg.rows import TupleRow

from courtyard.settings import ConfigError, Settings
from i18n.languages import LANGUAGES
from store.access.audit_log import record_sync
from store.places import place_edits, provisioning

#: Who the audit log says did it.
ACTOR = "system"
SITE_CLEARABLE = ("name", "language")
HOUSEHOLD_CLEARABLE = ("building", "timezone", "quiet")


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    code: str
    message: str


def add_site_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(title="actions", dest="action", required=True)
    actions.add_parser("list", help="list the sites: id, name, time zone, language")
    for action, help_text in (("add", "add a new site"), ("set", "change a site's facts")):
        p = actions.add_parser(action, help=help_text)
        p.add_argument("site")
        p.add_argument("--name")
        p.add_argument(
            "--timezone",
            help="an IANA zone (add: default the platform's, COURTYARD_LOCALE__DEFAULT_TIMEZONE)",
        )
        p.add_argument("--language", help=f"one of {', '.join(LANGUAGES)}")
        if action == "set":
            p.add_argument(
                "--clear", action="append", default=[], choices=SITE_CLEARABLE, metavar="FACT",
                help="clear a fact (name, language); repeatable",
            )  # fmt: skip
        p.add_argument("--dry-run", action="store_true", help="show what would change only")


def add_household_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(title="actions", dest="action", required=True)
    listing = actions.add_parser("list", help="list a site's households")
    listing.add_argument("site")
    for action, help_text in (
        ("add", "add a new household to a site"),
        ("set", "change a household's facts"),
    ):
        p = actions.add_parser(action, help=help_text)
        p.add_argument("site")
        p.add_argument("household")
        p.add_argument("--label", help="its pseudonymous label")
        p.add_argument("--building", help="a building of the site")
        p.add_argument("--timezone", help="an IANA zone (default: the site's)")
        p.add_argument("--quiet", metavar="HH:MM-HH:MM", help="quiet hours, e.g. 22:00-07:00")
        if action == "set":
            p.add_argument(
                "--clear", action="append", default=[], choices=HOUSEHOLD_CLEARABLE,
                metavar="FACT", help="clear a fact (building, timezone, quiet); repeatable",
            )  # fmt: skip
        p.add_argument("--dry-run", action="store_true", help="show what would change only")


def run_sites(args: argparse.Namespace, settings: Settings) -> int:
    with _connect(settings) as conn:
        if args.action == "list":
            for s in place_edits.sites(conn):
                sys.stdout.write(f"{s.id}\t{s.name or '-'}\t{s.timezone}\t{s.language or '-'}\n")
            return 0
        with conn.transaction():
            return _write_site(conn, args)


def run_households(args: argparse.Namespace, settings: Settings) -> int:
    with _connect(settings) as conn:
        if args.action == "list":
            if place_edits.site(conn, args.site) is None:
                return _errors([_unknown_site(args.site)])
            for h in place_edits.households(conn, args.site):
                sys.stdout.write(
                    f"{h.id}\t{h.label}\t{h.building_id or '-'}\t{h.timezone or '-'}\t"
                    f"{_quiet_text(h.quiet_start, h.quiet_end)}\n"
                )
            return 0
        with conn.transaction():
            return _write_household(conn, args)


def _connect(settings: Settings) -> psycopg.Connection[TupleRow]:
    if not settings.store.url:
        raise ConfigError("set COURTYARD_DATABASE_URL (or start `courtyard up` first)")
    return psycopg.connect(settings.store.url)


def _write_site(conn: psycopg.Connection[TupleRow], args: argparse.Namespace) -> int:
    current = place_edits.site(conn, args.site)
    if args.action == "add" and current is not None:
        return _errors([FieldError("site", "site_exists", f"site {args.site} exists; use set")])
    if args.action == "set" and current is None:
        return _errors([_unknown_site(args.site)])
    before: dict[str, object] = (
        {"name": None, "timezone": None, "language": None}
        if current is None
        else {"name": current.name, "timezone": current.timezone, "language": current.language}
    )
    after = dict(before)
    if current is None:
        after["timezone"] = place_edits.default_zone(conn)
    for field in getattr(args, "clear", []):
        after[field] = None
    for field in ("name", "timezone", "language"):
        if getattr(args, field) is not None:
            after[field] = getattr(args, field)
    errors: list[FieldError] = []
    if args.timezone is not None and not place_edits.is_known_zone(conn, args.timezone):
        errors.append(_bad_zone(args.timezone))
    if args.language is not None and args.language not in LANGUAGES:
        errors.append(
            FieldError(
                "language",
                "unknown_language",
                f"{args.language!r} is not one of {', '.join(LANGUAGES)}",
            )  # fmt: skip
        )
    if errors:
        return _errors(errors)
    changed = _changes(before, after)
    if changed and not args.dry_run:
        provisioning.upsert_site(conn, args.site, _opt(after["name"]), str(after["timezone"]))
        place_edits.set_site_language(conn, args.site, _opt(after["language"]))
        record_sync(
            conn, actor=ACTOR, action="site.write", target=f"site:{args.site}",
            site_id=args.site, details={"changes": {f: a for f, (_, a) in changed.items()}},
        )  # fmt: skip
    _print_changes(f"site:{args.site}", args.action, changed, args.dry_run)
    return 0


def _write_household(conn: psycopg.Connection[TupleRow], args: argparse.Namespace) -> int:
    if place_edits.site(conn, args.site) is None:
        return _errors([_unknown_site(args.site)])
    current = place_edits.household(conn, args.site, args.household)
    target = f"household:{args.site}/{args.household}"
    if args.action == "add" and current is not None:
        return _errors([FieldError("household", "household_exists", f"{target} exists; use set")])
    if args.action == "set" and current is None:
        return _errors([FieldError("household", "unknown_household", f"no {target}")])
    errors: list[FieldError] = []
    if current is None and args.label is None:
        errors.append(FieldError("label", "missing", "a new household needs --label"))
    before: dict[str, object] = (
        {"label": None, "building": None, "timezone": None, "quiet": None}
        if current is None
        else {
            "label": current.label,
            "building": current.building_id,
            "timezone": current.timezone,
            "quiet": _quiet_text(current.quiet_start, current.quiet_end, none=None),
        }
    )
    after = dict(before)
    for field in getattr(args, "clear", []):
        after[field] = None
    quiet: tuple[time, time] | None = None
    if args.quiet is not None:
        parsed = _parse_quiet(args.quiet)
        if parsed is None:
            errors.append(
                FieldError(
                    "quiet",
                    "bad_quiet_hours",
                    f"{args.quiet!r} is not HH:MM-HH:MM (e.g. 22:00-07:00)",
                )  # fmt: skip
            )
        else:
            after["quiet"] = _quiet_text(*parsed)
    for field in ("label", "building", "timezone"):
        if getattr(args, field) is not None:
            after[field] = getattr(args, field)
    if args.building is not None and not place_edits.building_exists(
        conn, args.site, args.building
    ):
        errors.append(
            FieldError(
                "building", "unknown_building", f"no building {args.building} in {args.site}"
            )
        )
    if args.timezone is not None and not place_edits.is_known_zone(conn, args.timezone):
        errors.append(_bad_zone(args.timezone))
    if errors:
        return _errors(errors)
    if after["quiet"] is not None:
        quiet = _parse_quiet(str(after["quiet"]))
    changed = _changes(before, after)
    if changed and not args.dry_run:
        provisioning.upsert_household(
            conn, args.site, args.household, str(after["label"]),
            timezone=_opt(after["timezone"]), quiet=quiet,
            contact=current.contact if current is not None else None,
            building_id=_opt(after["building"]),
        )  # fmt: skip
        record_sync(
            conn, actor=ACTOR, action="household.write", target=target, site_id=args.site,
            details={"changes": {f: a for f, (_, a) in changed.items()}},
        )  # fmt: skip
    _print_changes(target, args.action, changed, args.dry_run)
    return 0


def _parse_quiet(text: str) -> tuple[time, time] | None:
    """'22:00-07:00' -> (22:00, 07:00); start after end spans midnight. None if malformed."""
    start, dash, end = text.partition("-")
    try:
        pair = (time.fromisoformat(start.strip()), time.fromisoformat(end.strip()))
    except ValueError:
        return None
    return pair if dash and pair[0] != pair[1] else None


def _quiet_text(start: time | None, end: time | None, none: str | None = "-") -> str | None:
    if start is None or end is None:
        return none
    return f"{start:%H:%M}-{end:%H:%M}"


def _changes(
    before: Mapping[str, object], after: Mapping[str, object]
) -> dict[str, tuple[object, object]]:
    return {f: (before[f], after[f]) for f in after if before[f] != after[f]}


def _print_changes(
    target: str, action: str, changed: Mapping[str, tuple[object, object]], dry_run: bool
) -> None:
    verb = {"add": "would add" if dry_run else "added"}.get(
        action, "would update" if dry_run else "updated"
    )
    sys.stdout.write(f"{target}\t{verb if changed else 'unchanged'}\n")
    for field, (before, after) in changed.items():
        sys.stdout.write(f"\t{field}: {_text(before)} -> {_text(after)}\n")


def _text(value: object) -> str:
    return "-" if value is None else str(value)


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def _unknown_site(site_id: str) -> FieldError:
    return FieldError("site", "unknown_site", f"no site {site_id}")


def _bad_zone(zone: str) -> FieldError:
    return FieldError(
        "timezone", "unknown_timezone", f"{zone!r} is not an IANA time zone the database knows"
    )


def _errors(errors: list[FieldError]) -> int:
    for e in errors:
        sys.stderr.write(f"{e.field}: {e.code}: {e.message}\n")
    return 1
