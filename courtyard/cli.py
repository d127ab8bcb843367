"""The `courtyard` command: builds Settings once, sets up logging, and calls one run()."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import psycopg

from courtyard import __version__, logs
from courtyard.cli_text import _
from courtyard.settings import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from store.settings import StoreSettings

Command = Callable[[argparse.Namespace, Settings], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        sys.stderr.write(f"courtyard: {exc}\n")
        return 2
    logs.configure(args.log_level or settings.log_level, settings.log_format)
    command: Command = args.command
    try:
        return command(args, settings)
    except ConfigError as exc:
        sys.stderr.write(f"courtyard: {exc}\n")
        return 2
    except psycopg.OperationalError as exc:
        # A database that is down, unknown or refuses us: one line, not psycopg's traceback.
        sys.stderr.write(f"courtyard: {_unreachable(settings, exc)}\n")
        return 1
    except KeyboardInterrupt:
        return 130


def _unreachable(settings: Settings, exc: psycopg.OperationalError) -> str:
    """What failed, in one line: the database's URL without its password, and libpq's first
    line (its second is a hint for the server's administrator)."""
    from courtyard.status import without_password

    url = _with_running_database(settings).store.url
    lines = str(exc).strip().splitlines() or [type(exc).__name__]
    error = lines[0]
    password = urlsplit(url).password if url else None
    if password:
        error = error.replace(password, "***")
    if not url:
        return error
    return _("Cannot reach the database {url}: {error}").format(
        url=without_password(url), error=error
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="courtyard",
        description="Courtyard: smart-community IoT data platform. Settings come from COURTYARD_* "
        "environment variables or a .env file (see the README).",
    )
    parser.add_argument("--version", action="version", version=f"courtyard {__version__}")
    parser.add_argument("--log-level", help="override COURTYARD_LOG_LEVEL (DEBUG, INFO, ...)")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    up = commands.add_parser(
        "up",
        help=_("run everything in one process (embedded servers where no URL is set)"),
        description=_(
            "Start an embedded PostgreSQL and MQTT broker for each of COURTYARD_DATABASE_URL /"
            " COURTYARD_MQTT_URL that is unset (data under COURTYARD_DATA_DIR), apply"
            " migrations, and run ingest, the rules engine and the API with its dashboard"
            " until SIGTERM or Ctrl-C."
        ),
    )
    up.add_argument(
        "--demo",
        action="store_true",
        help=_(
            "also simulate the small-community scenario (its last week replayed, then live) and"
            " create a demo manager and volunteer whose passwords are printed"
        ),
    )
    up.set_defaults(command=_up)

    status = commands.add_parser(
        "status",
        help=_("show what is running, the feed lag, backlogs and open alerts"),
        description=_(
            "Read from the database which ingest workers, rules engines (with their sites) and"
            " API processes are connected, how far the rules engines are behind, what waits in"
            " the notification outbox, the open alerts and the rejected messages of the last"
            " hour. Without COURTYARD_DATABASE_URL, it asks the database of the `courtyard up`"
            " running on COURTYARD_DATA_DIR."
        ),
    )
    status.add_argument("--json", action="store_true", help=_("print JSON instead of text"))
    status.set_defaults(command=_status)

    migrate = commands.add_parser(
        "migrate",
        help="bring the database to the current schema",
        description="Apply pending migrations to COURTYARD_DATABASE_URL (idempotent, safe to run "
        "concurrently). Uses TimescaleDB when the extension is available.",
    )
    migrate.set_defaults(command=_migrate)

    ingest = commands.add_parser(
        "ingest",
        help="run an ingest worker (MQTT -> store) until SIGTERM",
        description="Subscribe to COURTYARD_MQTT_URL with a persistent session and store every "
        "message in COURTYARD_DATABASE_URL, acknowledging only after commit. Run several with "
        "distinct COURTYARD_INGEST__CLIENT_ID values to share the load.",
    )
    ingest.set_defaults(command=_ingest)

    from courtyard import rules_command

    rules = commands.add_parser(
        "rules",
        help="run the rules engine (alerts and notifications), or check/list/backtest rules",
        description="Evaluate rules on every committed batch and on timers, raise and resolve "
        "alerts, escalate care alerts and deliver notifications. Several engines split the "
        "sites between them. `courtyard rules backtest RULE --from --to` lists what a rule "
        "would have raised on stored history.",
    )
    rules_command.add_arguments(rules)
    rules.set_defaults(command=rules_command.run)

    api = commands.add_parser(
        "api",
        help="serve the HTTP API and the dashboard until SIGTERM",
        description="Serve /api/v1, /docs, /healthz, /metrics and the dashboard on "
        "COURTYARD_HTTP_HOST:COURTYARD_HTTP_PORT. Several can run against one database: "
        "live alert streams are fed by PostgreSQL LISTEN/NOTIFY.",
    )
    api.set_defaults(command=_api)

    from api import cli as api_cli

    users = commands.add_parser(
        "users",
        help="manage dashboard and API users",
        description="Add, list and deactivate the users who log in to the dashboard or call the "
        "API, and set their passwords. A user's role (admin, manager, volunteer, operator, "
        "integration) decides what they see: managers their sites, volunteers their "
        "households' care alerts, operators the device registry and rules. Without "
        "COURTYARD_DATABASE_URL, works on the database of the `courtyard up` running on "
        "COURTYARD_DATA_DIR.",
    )
    user_actions = users.add_subparsers(title="actions", required=True, metavar="ACTION")
    add_user = user_actions.add_parser(
        "add", help="add or update a user (admin, manager, volunteer, operator, integration)"
    )
    api_cli.add_user_arguments(add_user)
    add_user.set_defaults(command=_users_add)
    list_users = user_actions.add_parser("list", help="list users: role, state, sites, person")
    list_users.set_defaults(command=_users_list)
    deactivate = user_actions.add_parser(
        "deactivate", help="deactivate a user: their tokens and sessions stop working at once"
    )
    api_cli.add_user_id_argument(deactivate)
    deactivate.set_defaults(command=_users_deactivate)
    reset_password = user_actions.add_parser(
        "reset-password",
        help="set a user's dashboard password (read from stdin when not a TTY) and end their"
        " sessions",
    )
    api_cli.add_user_id_argument(reset_password)
    reset_password.set_defaults(command=_users_reset_password)

    tokens = commands.add_parser(
        "tokens",
        help="manage API bearer tokens",
        description="Issue, list and revoke the tokens programs send to the API as "
        "`Authorization: Bearer <token>`. A token acts as its user, narrowed to its scopes, "
        "until it expires or is revoked; it is printed once when created and only its hash "
        "is stored. Without COURTYARD_DATABASE_URL, works on the database of the `courtyard "
        "up` running on COURTYARD_DATA_DIR.",
    )
    token_actions = tokens.add_subparsers(title="actions", required=True, metavar="ACTION")
    create_token = token_actions.add_parser(
        "create", help="issue a bearer token for a user (printed once)"
    )
    api_cli.add_token_arguments(create_token, default_days=90)
    create_token.set_defaults(command=_tokens_create)
    list_tokens = token_actions.add_parser(
        "list", help="list tokens (never their secrets): user, scopes, expiry, revocation"
    )
    api_cli.add_token_list_arguments(list_tokens)
    list_tokens.set_defaults(command=_tokens_list)
    revoke_token = token_actions.add_parser(
        "revoke", help="revoke a token: it stops working at once"
    )
    api_cli.add_token_revoke_arguments(revoke_token)
    revoke_token.set_defaults(command=_tokens_revoke)

    from courtyard import devices_command

    devices = commands.add_parser(
        "devices", help="list devices and set what they are (name, kind, place, role)"
    )
    devices_command.add_arguments(devices)
    devices.set_defaults(command=_devices)

    from courtyard import places_command

    sites = commands.add_parser("sites", help="list, add and change sites (name, zone, language)")
    places_command.add_site_arguments(sites)
    sites.set_defaults(command=_sites)
    households = commands.add_parser(
        "households", help="list, add and change households (label, building, zone, quiet hours)"
    )
    places_command.add_household_arguments(households)
    households.set_defaults(command=_households)

    from device_sims import cli as simulate_cli

    simulate = commands.add_parser(
        "simulate",
        help=_("simulate a community's devices and residents over MQTT"),
    )
    simulate_cli.add_arguments(simulate)
    simulate.set_defaults(command=_simulate)
    _describe_actions(parser)
    return parser


def _describe_actions(parser: argparse.ArgumentParser) -> None:
    """An action's `--help` without a description of its own says what its line in the
    list of actions says."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: choice.help for choice in action._choices_actions}
        for name, subparser in action.choices.items():
            summary = helps.get(name)
            if not subparser.description and summary:
                subparser.description = summary[0].upper() + summary[1:] + "."
            _describe_actions(subparser)


def _require_urls(settings: Settings, *, database: bool = True, mqtt: bool = False) -> None:
    missing = []
    if database and not settings.store.url:
        missing.append("COURTYARD_DATABASE_URL")
    if mqtt and not settings.ingest.mqtt_url:
        missing.append("COURTYARD_MQTT_URL")
    if missing:
        raise ConfigError(
            _(
                "{variables} must be set for this command"
                " (`courtyard up` starts embedded servers instead)"
            ).format(variables=" / ".join(missing))
        )


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from store import migrate

    _require_urls(settings)
    try:
        report = migrate.run_from_settings(settings.store)
    except migrate.MigrationError as exc:
        sys.stderr.write(f"courtyard migrate: {exc}\n")
        return 1
    _apply_locale_defaults(settings)
    if report.applied:
        done = _("{backend}: applied {migrations}").format(
            backend=report.backend, migrations=", ".join(report.applied)
        )
    else:
        done = _("{backend}: nothing to apply, the schema is current").format(
            backend=report.backend
        )
    sys.stdout.write(done + "\n")
    return 0


def _apply_locale_defaults(settings: Settings) -> None:
    """The platform's default language and time zone, from settings into the database."""
    import psycopg

    from store.access import languages

    with psycopg.connect(settings.store.url) as conn:
        languages.apply_defaults(conn, settings.locale)


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from ingest import service

    _require_urls(settings, mqtt=True)
    return service.run(settings.ingest, settings.store)


def _api(args: argparse.Namespace, settings: Settings) -> int:
    from api import cli as api_cli
    from courtyard.rule_service import RulesForApi

    _require_urls(settings)
    return api_cli.serve(
        settings.api,
        settings.store,
        host=settings.http_host,
        port=settings.http_port,
        rule_service=RulesForApi(settings.store),
        log_level=settings.log_level,
    )


def _with_running_database(settings: Settings) -> Settings:
    """Without COURTYARD_DATABASE_URL: the database of the `courtyard up` running on the data
    directory, whose embedded server listens on a port chosen at each start."""
    from courtyard import status

    if settings.store.url:
        return settings
    url = (status.read_record(settings.data_dir) or {}).get("database_url")
    return settings.with_urls(url, settings.mqtt_url) if isinstance(url, str) and url else settings


def _users_add(args: argparse.Namespace, settings: Settings) -> int:
    from api import cli as api_cli

    settings = _with_running_database(settings)
    _require_urls(settings)
    return api_cli.add_user_command(args, settings.store)


def _users_list(args: argparse.Namespace, settings: Settings) -> int:
    from api import cli as api_cli

    return api_cli.list_users_command(args, _account_store(settings))


def _users_deactivate(args: argparse.Namespace, settings: Settings) -> int:
    from api import cli as api_cli

    return api_cli.deactivate_user_command(args, _account_store(settings))


def _users_reset_password(args: argparse.Namespace, settings: Settings) -> int:
    from api import cli as api_cli

    return api_cli.reset_password_command(args, _account_store(settings))


def _tokens_create(args: argparse.Namespace, settings: Settings) -> int:
    from api import cli as api_cli

    settings = _with_running_database(settings)
    _require_urls(settings)
    return api_cli.create_token_command(args, settings.store)


def _tokens_list(args: argparse.Namespace, settings: Settings) -> int:
    from api import cli as api_cli

    return api_cli.list_tokens_command(args, _account_store(settings))


def _tokens_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from api import cli as api_cli

    return api_cli.revoke_token_command(args, _account_store(settings))


def _account_store(settings: Settings) -> StoreSettings:
    """The store section of the database `courtyard users|tokens` work on."""
    settings = _with_running_database(settings)
    _require_urls(settings)
    return settings.store


def _devices(args: argparse.Namespace, settings: Settings) -> int:
    from courtyard import devices_command

    settings = _with_running_database(settings)
    _require_urls(settings)
    return devices_command.run(args, settings)


def _sites(args: argparse.Namespace, settings: Settings) -> int:
    from courtyard import places_command

    settings = _with_running_database(settings)
    _require_urls(settings)
    return places_command.run_sites(args, settings)


def _households(args: argparse.Namespace, settings: Settings) -> int:
    from courtyard import places_command

    settings = _with_running_database(settings)
    _require_urls(settings)
    return places_command.run_households(args, settings)


def _simulate(args: argparse.Namespace, settings: Settings) -> int:
    from device_sims import cli as simulate_cli

    # --list and --dry-run need no broker; publishing does.
    if not (args.list or args.dry_run):
        _require_urls(settings, database=False, mqtt=True)
    return simulate_cli.run(args, settings.mqtt_url)


def _up(args: argparse.Namespace, settings: Settings) -> int:
    from courtyard import up
    from courtyard.demo import Demo

    return up.run(settings, demo=Demo() if args.demo else None)


def _status(args: argparse.Namespace, settings: Settings) -> int:
    from courtyard import status

    return status.run(settings, as_json=args.json)
