"""A device's page: what it is, its latest values, the alerts about it, and a chart of one
metric over a chosen range (drawn in the browser from the API's aggregates endpoint)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Query, Request
from starlette.responses import Response

from api.auth.principals import Permission
from api.deps import DbConn, DevicesReader
from api.errors import not_found
from api.pages.routing import page_router
from api.pages.templates import render
from api.params import DeviceId
from api.schemas.common import METRIC_PATTERN
from store.alerts import device_alerts
from store.devices import device_reads
from store.places import place_reads

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


@router.get("/devices/{device_id}")
async def device(
    request: Request,
    conn: DbConn,
    user: DevicesReader,
    device_id: DeviceId,
    metric: Annotated[str | None, Query(pattern=METRIC_PATTERN)] = None,
    range_name: Annotated[RangeName, Query(alias="range")] = "24h",
    first: Annotated[date | None, Query(alias="from")] = None,
    last: Annotated[date | None, Query(alias="to")] = None,
) -> Response:
    row = await device_reads.get_device(conn, user.visibility, device_id)
    if row is None:
        raise not_found("Device")
    zone = await place_reads.site_timezone(conn, row.site_id)
    series = [s.metric for s in await device_reads.series_of(conn, device_id)]
    chosen = metric or (series[0] if series else None)
    span = chart_range(range_name, first, last, zone, datetime.now(UTC))
    chart_src = None
    if chosen is not None and span is not None:
        query = {"metric": chosen, "start": span[0].isoformat(), "end": span[1].isoformat()}
        chart_src = f"/api/v1/devices/{device_id}/aggregates?{urlencode(query)}"
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
            "latest": await device_reads.latest_values(conn, device_id),
            "alerts": alerts,
            "devices_of": {(row.site_id, row.device_key): row.id},
            "range_name": range_name,
            "ranges": list(RANGES),
            "first": first,
            "last": last,
            "span": span,
            "chart_src": chart_src,
        },
    )
