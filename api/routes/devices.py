"""Device registry and status, latest values, raw readings and chart aggregates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Query, Response

from api import pagination
from api.auth.principals import Principal
from api.deps import DbConn, DevicesReader, Res
from api.errors import invalid, not_found
from api.language import Language
from api.params import Cursor, DeviceId, End, HouseholdFilter, Metric, PageSize, SiteFilter, Start
from api.schemas.common import ID_PATTERN, error_responses
from api.schemas.devices import (
    Aggregates,
    Buckets,
    DeviceDetail,
    DevicePage,
    DevicePublic,
    LatestValue,
    LatestValues,
    ReadingPage,
    ReadingPublic,
    SeriesPublic,
)
from store.devices import device_reads
from store.devices.device_reads import DeviceRow
from store.readings import charts

router = APIRouter(
    prefix="/devices", tags=["devices"], responses=error_responses(400, 401, 403, 422)
)


class Bucket(IntEnum):
    MINUTE = 60
    FIVE_MINUTES = 300
    QUARTER = 900
    HOUR = 3600
    SIX_HOURS = 21600
    DAY = 86400


#: Auto bucket: the smallest one that keeps a chart under this many points.
_TARGET_POINTS = 1000
#: Refused beyond this many points: a chart cannot show them and the answer would be huge.
_MAX_POINTS = 10_000


def device_public(row: DeviceRow, language: str) -> DevicePublic:
    gateway = row.attrs.get("zigbee2mqtt")
    model = gateway.get("model") if isinstance(gateway, dict) else None
    return DevicePublic(
        id=row.id,
        site_id=row.site_id,
        device_key=row.device_key,
        display_name=device_reads.display_name(row, language),
        name=row.name,
        names=row.names,
        kind=row.kind,
        kind_state=None if row.kind is None else _state(row.kind_confirmed),
        status=row.state,  # type: ignore[arg-type]  # device_state() gives only these
        status_source=row.state_source,  # type: ignore[arg-type]
        status_changed_at=row.status_changed_at,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        building_id=row.building_id,
        unit=row.unit,
        room=row.room,
        household_id=row.household_id,
        role=row.role,  # type: ignore[arg-type]  # the store's CHECK holds it to the roles
        role_room=row.role_room,
        role_state=None if row.role is None else _state(row.role_confirmed),
        installed_on=row.installed_on,
        notes=row.notes,
        model=model if isinstance(model, str) else None,
    )


def _state(confirmed: bool) -> Literal["suggested", "confirmed"]:
    return "confirmed" if confirmed else "suggested"


async def _device(conn: DbConn, user: Principal, device_id: int) -> DeviceRow:
    row = await device_reads.get_device(conn, user.visibility, device_id)
    if row is None:
        raise not_found("Device")
    return row


@router.get("", response_model=DevicePage)
async def list_devices(
    conn: DbConn,
    user: DevicesReader,
    site: SiteFilter = None,
    kind: Annotated[str | None, Query(pattern=ID_PATTERN, description="Only this kind.")] = None,
    status: Annotated[
        Literal["online", "offline", "unknown"] | None, Query(description="Only this status.")
    ] = None,
    household: HouseholdFilter = None,
    building: Annotated[
        str | None, Query(pattern=ID_PATTERN, description="Only devices of this building.")
    ] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            pattern=r"^[^\x00]*$",
            description="Only devices whose id or a name contains this (any case).",
        ),
    ] = None,
    cursor: Cursor = None,
    limit: PageSize = 100,
    *,
    language: Language,
) -> DevicePage:
    """Devices the caller may see, ordered by site and device id, filtered by site, kind,
    status (from the device's status messages, else judged from its data: see `status_source`),
    household, building or a search in ids and names."""
    after = None
    if cursor is not None:
        site_after, key_after = pagination.decode(cursor, [str, str])
        after = (str(site_after), str(key_after))
    rows = await device_reads.list_devices(
        conn,
        user.visibility,
        site_id=site,
        kind=kind,
        status=status,
        household_id=household,
        building_id=building,
        search=q,
        after=after,
        limit=limit + 1,
    )
    items = [device_public(row, language) for row in rows[:limit]]
    more = len(rows) > limit
    next_cursor = pagination.encode([items[-1].site_id, items[-1].device_key]) if more else None
    return DevicePage(items=items, next_cursor=next_cursor)


@router.get("/{device_id}", response_model=DeviceDetail, responses=error_responses(404))
async def get_device(
    conn: DbConn, user: DevicesReader, device_id: DeviceId, language: Language
) -> DeviceDetail:
    """One device with the metrics it reports."""
    return await device_detail(conn, user, device_id, language)


async def device_detail(
    conn: DbConn, user: Principal, device_id: int, language: str
) -> DeviceDetail:
    row = await _device(conn, user, device_id)
    series = await device_reads.series_of(conn, device_id)
    return DeviceDetail(
        **device_public(row, language).model_dump(),
        metrics=[SeriesPublic(id=s.id, metric=s.metric) for s in series],
    )


@router.get("/{device_id}/latest", response_model=LatestValues, responses=error_responses(404))
async def latest_values(conn: DbConn, user: DevicesReader, device_id: DeviceId) -> LatestValues:
    """The newest value of each of the device's metrics (null when a metric has none left)."""
    device = await _device(conn, user, device_id)
    return LatestValues(
        device_id=device_id,
        site_id=device.site_id,
        device_key=device.device_key,
        values=[
            LatestValue(metric=v.metric, series_id=v.series_id, ts=v.ts, value=v.value)
            for v in await device_reads.latest_values(conn, device_id)
        ],
    )


def _range(
    start: datetime | None, end: datetime | None, default: timedelta
) -> tuple[datetime, datetime]:
    end = end or datetime.now(UTC)
    start = start or end - default
    if start >= end:
        raise invalid("query.start", "must be before end")
    return start, end


@router.get("/{device_id}/readings", response_model=ReadingPage, responses=error_responses(404))
async def readings(
    conn: DbConn,
    user: DevicesReader,
    device_id: DeviceId,
    metric: Metric,
    start: Start = None,
    end: End = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Readings per page.")] = 1000,
) -> ReadingPage:
    """Raw readings of one metric in [start, end), oldest first, in keyset pages.
    Defaults: the last 24 hours."""
    device = await _device(conn, user, device_id)
    start, end = _range(start, end, timedelta(hours=24))
    after = None
    if cursor is not None:
        (after_ts,) = pagination.decode(cursor, [datetime])
        assert isinstance(after_ts, datetime)
        after = after_ts
    series = await charts.series_id(conn, device_id, metric)
    rows = (
        []
        if series is None
        else await charts.raw(conn, series, start, end, after=after, limit=limit + 1)
    )
    items = [ReadingPublic(ts=r.ts, value=r.value) for r in rows[:limit]]
    next_cursor = pagination.encode([items[-1].ts]) if len(rows) > limit else None
    return ReadingPage(
        device_id=device_id,
        site_id=device.site_id,
        device_key=device.device_key,
        metric=metric,
        items=items,
        next_cursor=next_cursor,
    )


@router.get("/{device_id}/aggregates", response_model=Aggregates, responses=error_responses(404))
async def aggregates(
    conn: DbConn,
    res: Res,
    user: DevicesReader,
    device_id: DeviceId,
    metric: Metric,
    start: Start = None,
    end: End = None,
    bucket_s: Annotated[
        Bucket | None,
        Query(
            description="Bucket length in seconds; default: the smallest that keeps the "
            f"chart under {_TARGET_POINTS} points."
        ),
    ] = None,
) -> Response:
    """avg/min/max/count of one metric per bucket over [start, end), for charts. Buckets of an
    hour or more come from the hourly rollup (so a year is cheap); day buckets follow the
    site's local days. Defaults: the last 24 hours. The same question asked again within
    `read_cache_s` (2 s) is answered from a cache."""
    start, end = _range(start, end, timedelta(hours=24))
    span_s = (end - start).total_seconds()
    if bucket_s is None:
        bucket_s = next((b for b in Bucket if span_s / b <= _TARGET_POINTS), Bucket.DAY)
    elif span_s / bucket_s > _MAX_POINTS:
        raise invalid("query.bucket_s", f"gives more than {_MAX_POINTS} buckets over this range")
    size = int(bucket_s)

    async def compute() -> object:
        # The device check, the site's zone, the series and its buckets in one round trip.
        chart = await charts.chart(conn, user.visibility, device_id, metric, start, end, size)
        if chart is None:
            raise not_found("Device")
        columns = chart.columns
        answer = Aggregates(
            device_id=device_id,
            site_id=chart.site_id,
            device_key=chart.device_key,
            metric=metric,
            bucket_s=size,
            source="hourly" if size >= charts.HOUR_S else "raw",
            timezone=chart.timezone,
            buckets=Buckets(start=[], avg=[], min=[], max=[], count=[]),
        ).model_dump(mode="json")
        # The columns go to orjson as the numpy arrays they are (typed by the store query):
        # ~0.5 ms for a year of hourly buckets, against ~2.5 ms through lists and the model.
        answer["buckets"] = {
            "start": columns.start,
            "avg": columns.avg,
            "min": columns.min,
            "max": columns.max,
            "count": columns.count,
        }
        return orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY)

    # The serialised answer is what is cached: a year of hourly buckets is 200-600 kB of JSON,
    # and building it is most of the cost of a repeat. The device check is inside, so the key
    # holds the caller's Visibility and a repeat costs no query at all (a 404 is not cached).
    key = ("aggregates", user.visibility, device_id, metric, start, end, size)
    body = await res.read_cache.get(key, compute)
    assert isinstance(body, bytes)
    return Response(body, media_type="application/json")
