"""Alerts as CSV for a spreadsheet: headings and labels in the reader's language, codes beside
them for scripts, times on the clock of each alert's site with their UTC offset.

UTF-8 with a byte order mark: without it Excel reads the file in the machine's legacy code page
and Chinese summaries and names come out garbled. A cell that starts like a formula (`=`, `+`,
`-`, `@`, a tab or a return) gets a leading apostrophe: names and summaries come from people
and devices, and a spreadsheet must not run them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.responses import Response

from i18n import labels, summaries
from i18n.labels import code_label
from i18n.languages import N_, translations
from store.alerts.alert_table import TableRow

#: What one export holds at most (the newest, in the list's order): narrower filters for more.
EXPORT_LIMIT = 10_000
BOM = "\ufeff"
MEDIA_TYPE = "text/csv; charset=utf-8"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

#: The columns: heading (translated) and what fills it.
COLUMNS: Sequence[str] = (
    N_("Alert"),
    N_("Severity"),
    N_("Status"),
    N_("Category"),
    N_("Site"),
    N_("Building"),
    N_("Household"),
    N_("Device"),
    N_("Device id"),
    N_("Summary"),
    N_("Raised at"),
    N_("Last seen"),
    N_("Times"),
    N_("Acknowledged at"),
    N_("Acknowledged by"),
    N_("Resolved at"),
    N_("Resolved by"),
    N_("Outcome"),
    N_("Severity code"),
    N_("Status code"),
    N_("Category code"),
)


def local_iso(at: datetime | None, zone: str) -> str:
    """`at` on the site's clock, ISO 8601 with its offset: "2026-03-01 08:30:00+08:00"."""
    if at is None:
        return ""
    return at.astimezone(ZoneInfo(zone)).isoformat(sep=" ", timespec="seconds")


def _actor(value: str | None) -> str:
    return "" if value is None else value.removeprefix("user:")


def _safe(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


BuildingNames = Mapping[tuple[str, str], str]


def _record(row: TableRow, buildings: BuildingNames, language: str) -> list[object]:
    tr = translations(language)
    a, zone = row.alert, row.site_timezone
    return [
        a.id,
        code_label(labels.SEVERITY, a.severity, tr),
        code_label(labels.STATUS, a.status, tr),
        code_label(labels.CATEGORY, a.category, tr),
        a.site_id,
        None if row.building_id is None else buildings.get((a.site_id, row.building_id)),
        row.household_label,
        a.subject_name(language),
        a.subject,
        summaries.render(
            a.summary_key, a.summary_args, language, a.device_names, a.household_labels
        ),
        local_iso(a.first_seen, zone),
        local_iso(a.last_seen, zone),
        a.occurrences,
        local_iso(a.acknowledged_at, zone),
        _actor(a.acknowledged_by),
        local_iso(a.resolved_at, zone),
        _actor(a.resolved_by),
        "" if a.outcome is None else code_label(labels.OUTCOME, a.outcome, tr),
        a.severity,
        a.status,
        a.category,
    ]


def render(rows: Iterable[TableRow], buildings: BuildingNames, language: str) -> str:
    tr = translations(language)
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([tr.gettext(c) for c in COLUMNS])
    for row in rows:
        writer.writerow([_safe(v) for v in _record(row, buildings, language)])
    return out.getvalue()


def filename(site: str | None) -> str:
    return f"alerts-{site}.csv" if site else "alerts.csv"


def response(
    rows: Iterable[TableRow], buildings: BuildingNames, language: str, name: str
) -> Response:
    return Response(
        render(rows, buildings, language).encode("utf-8"),
        media_type=MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "Content-Language": language,
        },
    )
