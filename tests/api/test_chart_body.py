"""The chart answer is written by orjson from the store's numpy columns, not by the response
model: it must still be exactly what the model describes, with a bucket per index."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.schemas.devices import Aggregates, Buckets
from tests.api.conftest import bearer
from tests.api.world import NOW, World


def _chart(client: TestClient, token: str, device_id: int, bucket_s: int) -> Aggregates:
    start, end = NOW - timedelta(days=2), NOW
    answer = client.get(
        f"/api/v1/devices/{device_id}/aggregates?metric=level_pct&bucket_s={bucket_s}"
        f"&start={start:%Y-%m-%dT%H:%M:%SZ}&end={end:%Y-%m-%dT%H:%M:%SZ}",
        headers=bearer(token),
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    return Aggregates.model_validate_json(answer.content)


def test_hourly_and_raw_charts_match_the_model(world: World, client: TestClient) -> None:
    place = world.places["facility"]
    hourly = _chart(client, world.tokens["admin"], place.device_id, 3600)
    assert (hourly.source, hourly.bucket_s, hourly.site_id) == ("hourly", 3600, place.site_id)
    columns = hourly.buckets
    # The world's readings: every 10 minutes, 50 + n % 7 for the n-th before NOW. The hours
    # inside the chart are whole; compare those with the rollup of the readings.
    assert columns.start == sorted(columns.start)
    by_hour: dict[int, list[float]] = {}
    for n in range(201):
        ts = int((NOW - timedelta(minutes=10 * n)).timestamp())
        by_hour.setdefault(ts - ts % 3600, []).append(50.0 + n % 7)
    inner = list(zip(columns.start, *_rest(columns), strict=True))[1:-1]
    assert len(inner) >= 30
    for start, avg, lo, hi, count in inner:
        values = by_hour[start]
        assert (lo, hi, count) == (min(values), max(values), len(values))
        assert avg == pytest.approx(sum(values) / len(values))
    raw = _chart(client, world.tokens["admin"], place.device_id, 900)
    assert raw.source == "raw"
    assert len(raw.buckets.start) == len(raw.buckets.count) > 0
    assert all(lo <= a <= hi for a, lo, hi, _ in zip(*_rest(raw.buckets), strict=True))


def test_a_device_without_the_metric_has_an_empty_chart(world: World, client: TestClient) -> None:
    place = world.places["facility"]
    answer = client.get(
        f"/api/v1/devices/{place.device_id}/aggregates?metric=no_such_metric&bucket_s=3600",
        headers=bearer(world.tokens["admin"]),
    )
    assert answer.status_code == 200, answer.text
    empty = Aggregates.model_validate_json(answer.content).buckets
    assert (empty.start, empty.avg, empty.min, empty.max, empty.count) == ([], [], [], [], [])


def _rest(columns: Buckets) -> tuple[list[float], list[float], list[float], list[int]]:
    return columns.avg, columns.min, columns.max, columns.count
