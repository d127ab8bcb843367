"""The device page's chart through the real app: empty form fields, the metric it opens on, on/off
metrics, the limits and alerts it draws, and the hint for a range with no data."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.api import chart_devices
from tests.api.pages.browser_session import log_in
from tests.api.world import World


@pytest.fixture
def charts(world: World) -> chart_devices.ChartDevices:
    return chart_devices.add(world.url, datetime.now(UTC))


def _chart_src(html: str) -> dict[str, list[str]]:
    src = re.search(r'data-src="([^"]+)"', html)
    assert src is not None, html
    return parse_qs(urlsplit(unescape(src.group(1))).query)


def test_show_with_empty_date_fields_is_the_default_range(
    world: World, client: TestClient, charts: chart_devices.ChartDevices
) -> None:
    log_in(client, "manager")
    # What the form sends when nobody picks dates or a second metric.
    page = client.get(f"/devices/{charts.tank_id}?metric=level_pct&compare=&range=7d&from=&to=")
    assert page.status_code == 200, page.text
    query = _chart_src(page.text)
    start = datetime.fromisoformat(query["start"][0])
    end = datetime.fromisoformat(query["end"][0])
    assert (end - start).days == 7
    assert "data-compare-src" not in page.text


def test_other_page_forms_with_empty_fields(world: World, client: TestClient) -> None:
    log_in(client, "manager")
    # "All my sites" is an empty site; an empty category or reason is no filter.
    assert client.get("/alerts?site=&status=all&category=").status_code == 200
    assert client.get("/rejects?site=&reason=").status_code == 200


def test_an_invalid_address_answers_in_the_readers_own_language(
    world: World, client: TestClient, charts: chart_devices.ChartDevices
) -> None:
    log_in(client, "manager")
    client.headers["Accept-Language"] = "zh-CN"  # the browser's; the manager chose English
    page = client.get(f"/devices/{charts.tank_id}?from=yesterday")
    assert page.status_code == 422
    assert '<html lang="en"' in page.text and "That address is not valid" in page.text
    assert 'href="/logout"' in page.text or 'action="/logout"' in page.text  # navigation
    with psycopg.connect(world.url) as conn:
        conn.execute("UPDATE people SET language = 'zh-CN'")
    client.headers["Accept-Language"] = "en"
    page = client.get(f"/devices/{charts.tank_id}?from=yesterday")
    assert page.status_code == 422 and '<html lang="zh-CN"' in page.text


def test_a_tank_opens_on_its_level_with_its_limit_and_alert(
    world: World, client: TestClient, charts: chart_devices.ChartDevices
) -> None:
    log_in(client, "manager")
    page = client.get(f"/devices/{charts.tank_id}")
    assert page.status_code == 200
    assert _chart_src(page.text)["metric"] == ["level_pct"]
    limits = re.findall(r'<li data-value="([^"]+)" data-clear="([^"]*)"', page.text)
    assert limits == [("20.0", "30.0")]  # only the enabled rule whose scope covers the tank
    assert "rule tank-level-low" in page.text
    markers = re.findall(r'<li data-at="(\d+)"[^>]*data-severity="(\w+)"', page.text)
    assert len(markers) == 1 and markers[0][1] == "critical"
    assert f'href="/alerts/{charts.alert_id}"' in page.text
    week = client.get(f"/devices/{charts.tank_id}?range=7d")  # last week's alert too
    assert len(re.findall(r'<li data-at="(\d+)"', week.text)) == 2
    assert 'id="chart-no-data" class="flash chart-no-data" hidden' in page.text


def test_an_on_off_metric_carries_its_state_words(
    world: World, client: TestClient, charts: chart_devices.ChartDevices
) -> None:
    log_in(client, "manager")
    page = client.get(f"/devices/{charts.tank_id}?metric=level_pct&compare=inlet_open")
    assert 'data-compare-state-on="Open" data-compare-state-off="Closed"' in page.text
    compare = re.search(r'data-compare-src="([^"]+)"', page.text)
    assert compare is not None
    assert parse_qs(urlsplit(unescape(compare.group(1))).query)["metric"] == ["inlet_open"]
    page = client.get(f"/devices/{charts.tank_id}?metric=inlet_open")
    assert 'data-state-on="Open" data-state-off="Closed"' in page.text
    assert "chart-limits" not in page.text  # no rule watches the valve


def test_a_rarely_reporting_device_links_to_its_newest_reading(
    world: World, client: TestClient, charts: chart_devices.ChartDevices
) -> None:
    log_in(client, "manager")
    page = client.get(f"/devices/{charts.rare_id}")
    assert _chart_src(page.text)["metric"] == ["temperature_c"]
    hint = re.search(r'<div id="chart-no-data"[^>]*>(.*?)</div>', page.text, re.S)
    assert hint is not None and "hidden" not in hint.group(0).split(">")[0]
    assert "The newest reading is from <time" in hint.group(1)
    link = re.search(r'id="chart-newest" href="([^"]+)"', hint.group(1))
    assert link is not None
    shown = client.get(unescape(link.group(1)))
    assert shown.status_code == 200
    query = _chart_src(shown.text)
    start = datetime.fromisoformat(query["start"][0])
    end = datetime.fromisoformat(query["end"][0])
    assert start <= charts.rare_at < end
    assert 'id="chart-no-data" class="flash chart-no-data" hidden' in shown.text
    assert "Back to now" in shown.text
