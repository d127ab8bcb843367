"""A device's page: what it is, its latest values, the alerts about it, and a chart of one
metric over a chosen range (drawn in the browser from the API's aggregates endpoint), with the
limits of the threshold rules watching it, the alerts of the range, and a second metric beside
it when asked for.

The chart opens on the metric that says most about the device's kind (api.pages.chart_metrics).
A device that reports rarely may have nothing in the range: the page says when its newest
reading was and links to the same range ending just after it (`until`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Query, Request
from starlette.responses import Response

from api.auth.principals import Permission, Principal
from api.deps import DbConn, DevicesReader, Res
from api.errors import not_found
from api.pages import chart_metrics
from api.pages.event_use import EventUse, event_uses
from api.pages.routing import page_router
from api.pages.templates import render
from api.params import DeviceId, Time
from api.resources import Resources
from api.schemas.common import METRIC_PATTERN
from store.access.visibility import Visibility
from store.alerts import device_alerts
from store.alerts.records import Alert
from store.devices import device_reads
from store.devices.device_reads import LatestValue
from store.places import place_reads
from store.readings import event_reads
from store.rules import rule_edits
from store.rules.threshold_lines import DeviceInScope, ThresholdLine, threshold_lines

router = page_router()

RangeName = Literal["6h", "24h", "7d", "30d", "1y"]
RANGES: dict[str, timedelta] = {
    "6h": timedelta(hours=6),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "1y": timedelta(days=365),
}


def chart_range(
    preset: str, first: date | None, last: date | None, zone: str, now: datetime
) -> tuple[datetime, datetime] | None:
    """[start, end) in UTC: whole local days from `first` to `last` (both included) when both
    are given, else the preset ending now (rounded up to the minute, so that reloading the page
    asks the same question and the API's cache answers it). None when the days are reversed."""
    if first is not None and last is not None:
        tz = ZoneInfo(zone)
        start = datetime.combine(first, time(), tz).astimezone(UTC)
        end = datetime.combine(last + timedelta(days=1), time(), tz).astimezone(UTC)
        return (start, end) if start < end else None
    end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return end - RANGES[preset], end


def end_after(newest: datetime, preset: str) -> datetime:
    """Where a chart of `preset` ends to show the newest reading: a tenth of the range after it,
    so that it is not lost on the edge."""
    return newest + RANGES[preset] / 10


@dataclass(frozen=True, slots=True)
class Newest:
    """The newest reading of the chart's metric, and the link to a range that shows it."""

    at: datetime
    href: str
    #: True when the page can tell the range holds nothing (the newest reading is before it).
    before_range: bool


def _aggregates_src(device_id: int, metric: str, span: tuple[datetime, datetime]) -> str:
    query = {"metric": metric, "start": span[0].isoformat(), "end": span[1].isoformat()}
    return f"/api/v1/devices/{device_id}/aggregates?{urlencode(query)}"


def _newest(
    device_id: int,
    metric: str,
    compare: str | None,
    range_name: str,
    span: tuple[datetime, datetime],
    latest: list[LatestValue],
) -> Newest | None:
    at = next((v.ts for v in latest if v.metric == metric), None)
    if at is None:
        return None
    query = {"metric": metric, "range": range_name, "until": end_after(at, range_name).isoformat()}
    if compare is not None:
        query["compare"] = compare
    return Newest(at, f"/devices/{device_id}?{urlencode(query)}", at < span[0])


@router.get("/devices/{device_id}")
async def device(
    request: Request,
    conn: DbConn,
    res: Res,
    user: DevicesReader,
    device_id: DeviceId,
    metric: Annotated[str | None, Query(pattern=METRIC_PATTERN)] = None,
    compare: Annotated[str | None, Query(pattern=METRIC_PATTERN)] = None,
    range_name: Annotated[RangeName, Query(alias="range")] = "24h",
    first: Annotated[date | None, Query(alias="from")] = None,
    last: Annotated[date | None, Query(alias="to")] = None,
    until: Annotated[Time | None, Query()] = None,
) -> Response:
    row = await device_reads.get_device(conn, user.visibility, device_id)
    if row is None:
        raise not_found("Device")
    zone = await place_reads.site_timezone(conn, row.site_id)
    series = [s.metric for s in await device_reads.series_of(conn, device_id)]
    latest = await device_reads.latest_values(conn, device_id)
    with_data = {v.metric for v in latest if v.ts is not None}
    chosen = metric or chart_metrics.primary_metric(row.kind, series, with_data)
    second = compare if compare in series and compare != chosen else None
    span = chart_range(range_name, first, last, zone, until or datetime.now(UTC))
    chart_src = compare_src = None
    lines: list[ThresholdLine] = []
    alerts_in_range: list[Alert] = []
    newest = None
    if chosen is not None and span is not None:
        chart_src = _aggregates_src(device_id, chosen, span)
        if second is not None:
            compare_src = _aggregates_src(device_id, second, span)
        scoped = DeviceInScope(row.site_id, row.device_key, row.kind, row.household_id)
        lines = await threshold_lines(conn, scoped, chosen)
        if user.can(Permission.ALERTS_READ):
            alerts_in_range = await device_alerts.alerts_during(
                conn, user.visibility, row.site_id, row.device_key, *span
            )
        newest = _newest(device_id, chosen, second, range_name, span, latest)
    uses = await _event_uses(conn, res, user, row.id, row.site_id)
    alerts = (
        await device_alerts.alerts_about(conn, user.visibility, row.site_id, row.device_key)
        if user.can(Permission.ALERTS_READ)
        else []
    )
    return render(
        request,
        "device.html",
        user,
        {
            "device": row,
            "zone": zone,
            "series": series,
            "metric": chosen,
            "compare": second,
            "states": chart_metrics.STATES,
            "latest": latest,
            "alerts": alerts,
            "devices_of": {(row.site_id, row.device_key): row.id},
            "range_name": range_name,
            "ranges": list(RANGES),
            "first": first,
            "last": last,
            "until": until if first is None or last is None else None,
            "span": span,
            "chart_src": chart_src,
            "compare_src": compare_src,
            "thresholds": lines,
            "alerts_in_range": alerts_in_range,
            "newest": newest,
            "event_uses": uses,
        },
    )


async def _event_uses(
    conn: DbConn, res: Resources, user: Principal, device_id: int, site_id: str
) -> list[EventUse] | None:
    """None when the app runs without the rules package (it cannot tell)."""
    if res.rule_service is None:
        return None
    types = await event_reads.event_types_of(conn, device_id)
    if not types:
        return []
    # Every enabled rule, whoever reads: whether an event is used does not depend on them.
    rules = await rule_edits.list_rules(conn, Visibility.everything(), enabled=True)
    return event_uses(types, rules, res.rule_service, site_id)
