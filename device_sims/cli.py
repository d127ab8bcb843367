"""`courtyard simulate`: options, scenario loading, progress bar and the run summary table."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from device_sims.clock import SimulatedClock
from device_sims.encode import OutputFormat
from device_sims.engine_process import EngineProcessError
from device_sims.publisher import MqttSink, PublishError
from device_sims.runner import run as run_scenario
from device_sims.scenario import Scenario, load_scenario, shipped
from device_sims.scenario_schema import parse_duration
from device_sims.sinks import JsonlSink, NullSink, Sink
from device_sims.summary import RunSummary
from device_sims.text import _
from device_sims.yaml_source import ScenarioError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = _(
        "Simulate a community's devices and elderly residents' home kits, with faults and "
        "incidents, and publish them over MQTT (or count them / write them to a file)."
    )
    add = parser.add_argument
    add(
        "--scenario",
        default="small-community",
        metavar="NAME|PATH",
        help=_(
            "a shipped scenario name (see --list) or a path to a scenario YAML file "
            "(default: %(default)s)"
        ),
    )
    add("--list", action="store_true", help=_("list the shipped scenarios and exit"))
    add(
        "--speed",
        type=float,
        default=0.0,
        metavar="X",
        help=_(
            "simulated seconds per real second: 1 is real time, 3600 runs an hour a second; "
            "0 (default) runs as fast as possible. Device timestamps are simulated time "
            "either way, and the messages are the same"
        ),
    )
    add(
        "--format",
        choices=[f.value for f in OutputFormat],
        default=None,
        help=_(
            "output format: native or senml for facility devices; zigbee2mqtt turns every "
            "household kit to Zigbee2MQTT (facility devices keep the scenario's format). "
            "Default: the scenario's own; households keep their own unless zigbee2mqtt"
        ),
    )
    add("--seed", type=int, default=None, help=_("override the scenario's random seed"))
    add(
        "--duration",
        default=None,
        metavar="DURATION",
        help=_("override the scenario's length, e.g. 90m, 6h, 2d"),
    )
    add(
        "--start",
        default="auto",
        metavar="ISO|now|ending-now|scenario",
        help=_(
            "when the simulated period starts; incidents move with it. An ISO 8601 time with "
            "offset; 'now' (live, for --speed 1); 'ending-now' (a replay whose last message is "
            "about now, so an ingest accepts every timestamp); 'scenario' (the file's own start: "
            "the same bytes on every run). Default 'auto': 'now' at --speed 1, 'scenario' for "
            "--dry-run, else 'ending-now'"
        ),
    )
    add(
        "--rate",
        type=float,
        default=0.0,
        metavar="MSGS",
        help=_("cap on messages per real second (default 0: no cap)"),
    )
    add(
        "--qos",
        type=int,
        choices=[0, 1],
        default=1,
        help=_(
            "MQTT QoS of telemetry and events (statuses are always QoS 1, retained); "
            "default %(default)s: published then means acknowledged by the broker"
        ),
    )
    add(
        "--window",
        type=int,
        default=1000,
        metavar="N",
        help=_("most QoS 1 messages awaiting PUBACK at once (default %(default)s)"),
    )
    add("--client-id", default="", help=_("MQTT client id (default courtyard-sim-<site>)"))
    add(
        "--dry-run",
        action="store_true",
        help=_("do not connect to a broker: only count the messages (or write them with --out)"),
    )
    add(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help=_(
            "with --dry-run, write every message to FILE as JSON lines "
            "({ts, topic, qos, retain, payload})"
        ),
    )


def run(args: argparse.Namespace, mqtt_url: str) -> int:
    """Run `courtyard simulate`; returns the process exit code."""
    console = Console()
    if args.list:
        return _list(console)
    try:
        scenario = _scenario(args)
    except (ScenarioError, ValueError) as exc:
        console.print(_error(str(exc)), highlight=False)
        return 2
    sink: Sink
    if args.dry_run:
        sink = JsonlSink(args.out) if args.out else NullSink()
    else:
        if not mqtt_url:
            console.print(_error(_("no broker URL (set COURTYARD_MQTT_URL or --dry-run)")))
            return 2
        try:
            sink = MqttSink(
                mqtt_url, scenario.site.id, scenario.gateway, args.client_id, args.window
            )
        except PublishError as exc:
            console.print(f"[red]error:[/red] {exc}", highlight=False)
            return 1
    # Pacing pauses go through the sink, which keeps an MQTT connection serviced meanwhile.
    clock = SimulatedClock(scenario.start, args.speed, sleep=sink.idle)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}% " + escape(_("sim")) + " {task.fields[simtime]}"),
        TextColumn("{task.fields[messages]:,} " + escape(_("msgs"))),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(scenario.name, total=scenario.duration_s, simtime="", messages=0)

        def progress(done_s: float, messages: int) -> None:
            at = datetime.fromtimestamp(scenario.start.timestamp() + done_s, scenario.site.tz)
            bar.update(
                task, completed=done_s, simtime=at.strftime("%m-%d %H:%M"), messages=messages
            )

        try:
            summary = run_scenario(
                scenario, sink, clock, args.rate, args.qos, progress, in_child=not args.dry_run
            )
        except (PublishError, EngineProcessError) as exc:
            console.print(f"[red]error:[/red] {exc}", highlight=False)
            return 1
    console.print(summary_table(summary))
    if summary.confirmed != summary.total_messages:
        unconfirmed = _("only {confirmed} of {total} confirmed").format(
            confirmed=summary.confirmed, total=summary.total_messages
        )
        console.print(f"[red]{escape(unconfirmed)}[/red]")
        return 1
    return 0


def _error(message: str) -> str:
    """An error line: the word in red, the message as it is (never read as markup)."""
    word = escape(_("error:"))
    return f"[red]{word}[/red] {escape(message)}"


def _scenario(args: argparse.Namespace) -> Scenario:
    scenario = load_scenario(args.scenario)
    duration = parse_duration(args.duration) if args.duration else None
    start = _start(args, duration or scenario.duration_s)
    fmt = OutputFormat(args.format) if args.format else None
    return scenario.with_overrides(seed=args.seed, duration_s=duration, fmt=fmt, start=start)


def _start(args: argparse.Namespace, duration_s: float) -> datetime | None:
    choice = args.start
    if choice == "auto":
        choice = "now" if args.speed == 1 else "scenario" if args.dry_run else "ending-now"
    now = datetime.now(UTC).replace(microsecond=0)
    if choice == "scenario":
        return None
    if choice == "now":
        return now
    if choice == "ending-now":
        return now - timedelta(seconds=duration_s)
    start = datetime.fromisoformat(choice)
    if start.tzinfo is None:
        raise ValueError(_("--start {value} needs a UTC offset").format(value=repr(choice)))
    return start


def _list(console: Console) -> int:
    """Each scenario as a name over its description and counts: readable at 80 columns, where
    a table of six columns cuts every word of the descriptions."""
    for name in shipped():
        s = load_scenario(name)
        counts = " · ".join(
            f"{label} {value}"
            for label, value in (
                (_("devices"), f"{s.device_count():,}"),
                (_("households"), str(len(s.households))),
                (_("duration"), f"{s.duration_s / 3600:g} h"),
                (_("incidents"), str(len(s.faults))),
            )
        )
        console.print(Text(name, style="bold"), no_wrap=True, overflow="ignore")
        _indented(console, Text(s.description))
        _indented(console, Text(counts, style="dim"))
    return 0


def _indented(console: Console, text: Text, indent: int = 2) -> None:
    """`text` wrapped to the terminal, `indent` columns in, without trailing blanks."""
    for line in text.wrap(console, max(console.width - indent, 20)):
        line.rstrip()
        console.print(Text(" " * indent) + line, no_wrap=True, overflow="ignore")


def summary_table(summary: RunSummary) -> Table:
    table = Table(
        title=_("{scenario} (seed {seed}): {start} .. {end}").format(
            scenario=summary.scenario,
            seed=summary.seed,
            start=summary.sim_start.isoformat(),
            end=summary.sim_end.isoformat(),
        )
    )
    table.add_column(_("channel"))
    for name in (_("messages"), _("readings"), _("events")):
        table.add_column(name, justify="right")
    for channel in sorted(summary.messages):
        table.add_row(
            channel,
            f"{summary.messages[channel]:,}",
            f"{summary.readings.get(channel, 0):,}",
            f"{summary.events.get(channel, 0):,}",
        )
    table.add_row(
        "[bold]" + escape(_("total")),
        f"[bold]{summary.total_messages:,}",
        f"[bold]{summary.total_readings:,}",
        f"[bold]{summary.total_events:,}",
    )
    incidents = ", ".join(f"{k} x{v}" for k, v in sorted(summary.incidents.items())) or _("none")
    rate = summary.total_messages / summary.wall_s if summary.wall_s > 0 else 0.0
    table.caption = _(
        "{devices} devices, {households} households; incidents injected: {incidents};"
        " confirmed {confirmed}; {wall_s} s wall, {rate} msg/s"
    ).format(
        devices=f"{summary.devices:,}",
        households=summary.households,
        incidents=incidents,
        confirmed=f"{summary.confirmed:,}",
        wall_s=f"{summary.wall_s:.1f}",
        rate=f"{rate:,.0f}",
    )
    return table
