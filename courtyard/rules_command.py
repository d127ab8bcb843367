"""`courtyard rules`: run the rules engine, or check, list and backtest rule definitions."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from courtyard.settings import ConfigError, Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rules-file",
        type=Path,
        help="a rules YAML file to load into the database first (default: "
        "COURTYARD_RULES__RULES_FILE; with neither, the shipped defaults when the database "
        "has no rules yet)",
    )
    actions = parser.add_subparsers(title="actions", dest="action", metavar="ACTION")
    actions.add_parser("run", help="run the engine until SIGTERM (the default)")
    check = actions.add_parser("check", help="validate a rules file and exit")
    check.add_argument("file", type=Path)
    actions.add_parser("list", help="list the rules the database holds")
    backtest = actions.add_parser(
        "backtest",
        help="list the alerts a rule would have raised on stored history (notifies nobody)",
    )
    backtest.add_argument("rule", help="the rule's id (from the database or --rules-file)")
    backtest.add_argument(
        "--from", dest="start", type=_when, help="start, ISO 8601 (default: 7 days ago)"
    )
    backtest.add_argument("--to", dest="end", type=_when, help="end, ISO 8601 (default: now)")
    backtest.add_argument(
        "--site", help="the site whose time zone the report uses (default: the rule's first)"
    )
    backtest.add_argument(
        "--raw",
        action="store_true",
        help="read every stored reading (by default threshold and anomaly rules read only what"
        " the hourly rollup cannot rule out; for anomalies that screen may pass a series)",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    action = args.action or "run"
    if action == "check":
        return _check(args.file)
    if not settings.store.url:
        raise ConfigError(
            "COURTYARD_DATABASE_URL must be set for this command "
            "(`courtyard up` starts embedded servers instead)"
        )
    rules_file = args.rules_file or settings.rules.rules_file
    if action == "list":
        return _list(settings)
    if action == "backtest":
        return _backtest(args, settings, rules_file)
    return _run_engine(settings, rules_file)


def _check(path: Path) -> int:
    from rules.definitions import RuleFileError, load_rules_file

    try:
        definitions = load_rules_file(path)
    except (RuleFileError, OSError) as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    sys.stdout.write(f"{path}: {len(definitions)} rules, all valid\n")
    return 0


def _list(settings: Settings) -> int:
    from store.rules import rule_defs

    with psycopg.connect(settings.store.url) as conn:
        rules = rule_defs.list_all(conn)
    for r in rules:
        state = "on " if r.enabled else "off"
        sys.stdout.write(f"{state} {r.id:<32} {r.kind:<14} {r.category:<12} {r.severity}\n")
    return 0


def _run_engine(settings: Settings, rules_file: Path | None) -> int:
    from rules import ruleset, service
    from rules.definitions import RuleFileError

    try:
        with psycopg.connect(settings.store.url) as conn:
            ruleset.install(conn, rules_file)
    except RuleFileError as exc:
        raise ConfigError(str(exc)) from None
    engine = service.RulesService(settings.rules, settings.store, settings.notify)
    if settings.rules.metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(settings.rules.metrics_port, addr=settings.rules.metrics_host)
    return service.run(engine)


def _backtest(args: argparse.Namespace, settings: Settings, rules_file: Path | None) -> int:
    from rules import directory
    from rules.backtest import replay
    from rules.definitions import RuleDefinition, from_records, load_rules_file
    from store.rules import rule_defs

    end = args.end or datetime.now(UTC)
    start = args.start or end - timedelta(days=7)
    if start >= end:
        raise ConfigError("--from must be before --to")
    # Autocommit: on TimescaleDB the backtest refreshes the rollup first (rules.backtest.replay).
    with psycopg.connect(settings.store.url, autocommit=True) as conn:
        definition: RuleDefinition | None = None
        if rules_file is not None:
            definition = next((d for d in load_rules_file(rules_file) if d.id == args.rule), None)
        if definition is None:
            stored = rule_defs.get(conn, args.rule)
            found, problems = from_records([stored] if stored else [])
            if problems:
                raise ConfigError("; ".join(problems))
            definition = found[0] if found else None
        if definition is None:
            known = ", ".join(r.id for r in rule_defs.list_all(conn)) or "none"
            raise ConfigError(f"no rule {args.rule!r} (the database has: {known})")
        places = directory.load(conn, definition.scope.sites or None)
        report = replay.backtest(
            conn, definition, start, end, places, reads="raw" if args.raw else "auto"
        )
    site = args.site or (definition.scope.sites[0] if definition.scope.sites else None)
    zone = places.timezone_of(site) if site else places.timezone_of("")
    sys.stdout.write(replay.format_report(report, zone) + "\n")
    return 0


def _when(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
