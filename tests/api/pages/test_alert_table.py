"""The alert table, a manager's work queue, through the real app: filters in the address, sorting
and keyset paging that keep them, bulk acknowledge and resolve (recorded per alert, scoped to
what the caller may act on, CSRF-checked), the CSV export, and the volunteer's cards."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import psycopg
from fastapi.testclient import TestClient

from rules.catalog import heartbeat
from store.alerts import transitions
from tests.api.pages.browser_session import log_in
from tests.api.world import NOW, World

_ROW = re.compile(r'<tr id="alert-(\d+)"')
_NEXT = re.compile(r'<a class="button" href="(/alerts\?[^"]+)">Next page</a>')


def _ids(html: str) -> list[int]:
    return [int(i) for i in _ROW.findall(html)]


def _raise(
    url: str,
    n: int,
    *,
    site: str = "alpha",
    severity: str = "critical",
    prefix: str = "alpha-facility-block-lamp",
    age: timedelta = timedelta(0),
) -> list[int]:
    """`n` device alerts at `site`, one a minute before NOW - `age`, subjects numbered."""
    ids = []
    with psycopg.connect(url) as conn:
        for i in range(n):
            alert, _ = transitions.raise_or_repeat(
                conn,
                dedup_key=f"lamp:{site}:{prefix}-{i:02d}",
                rule_id="lamp",
                site_id=site,
                subject=f"{prefix}-{i:02d}",
                household_id=None,
                category="maintenance",
                severity=severity,
                summary_key=heartbeat.OFFLINE,
                summary_args={"device": f"{prefix}-{i:02d}"},
                value=None,
                metric=None,
                at=NOW - age - timedelta(minutes=i + 2),
                actor="rule:lamp",
            )
            ids.append(alert.id)
    return ids


def _status(url: str, alert_id: int) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT status FROM alerts WHERE id = %s", (alert_id,)).fetchone()
    assert row is not None
    return str(row[0])


def _changes(url: str, alert_id: int) -> list[tuple[str, str, str | None]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT change, actor, details->>'text' FROM alert_changes WHERE alert_id = %s"
            " ORDER BY id",
            (alert_id,),
        ).fetchall()
    return [(str(c), str(a), t) for c, a, t in rows]


def test_filters_narrow_the_table_and_stay_in_the_address(world: World, client: TestClient) -> None:
    log_in(client, "manager")
    facility, mine, theirs = (world.places[k] for k in ("facility", "mine", "theirs"))
    old = _raise(world.url, 1, prefix="alpha-old-lamp", age=timedelta(days=30))[0]

    everything = _ids(client.get("/alerts").text)
    assert set(everything) == {facility.alert_id, mine.alert_id, theirs.alert_id, old}
    assert _ids(client.get("/alerts?category=care").text) == sorted(
        [mine.alert_id, theirs.alert_id], reverse=True
    )
    assert _ids(client.get("/alerts?severity=critical").text) == [old]
    assert _ids(client.get("/alerts?severity=warning&category=maintenance").text) == [
        facility.alert_id
    ]
    # A household's building, and a device's building from its id (the facility pump's key
    # does not start with its building's id: it is in no building).
    assert _ids(client.get("/alerts?building=alpha/alpha-mine-block").text) == [mine.alert_id]
    # The building people set on a device counts before any guess from its id.
    assert (
        _ids(client.get("/alerts?building=alpha/alpha-facility-block&category=maintenance").text)
        == []
    )
    with psycopg.connect(world.url) as conn:
        conn.execute(
            "UPDATE devices SET building_id = 'alpha-facility-block'"
            " WHERE device_key = 'alpha-facility-pump'"
        )
    placed = client.get("/alerts?building=alpha/alpha-facility-block&category=maintenance")
    assert facility.alert_id in _ids(placed.text)
    # The date range is on the site's clock (Asia/Shanghai), both days included.
    today = (NOW + timedelta(hours=8)).date()
    recent = client.get(f"/alerts?from={today - timedelta(days=1)}&to={today}")
    assert old not in _ids(recent.text) and facility.alert_id in _ids(recent.text)
    month_ago = today - timedelta(days=30)
    assert old in _ids(client.get(f"/alerts?from={month_ago - timedelta(days=1)}").text)
    # Free text: a device id, a household's name, and the summary's own words.
    assert _ids(client.get("/alerts?q=OLD-LAMP").text) == [old]
    assert _ids(client.get("/alerts?q=Room+alpha-theirs").text) == [theirs.alert_id]
    assert set(_ids(client.get("/alerts?q=went+offline").text)) == {facility.alert_id, old}
    assert _ids(client.get("/alerts?q=%25").text) == []  # a LIKE wildcard is just a character
    # The form sends empty fields: no filter, not an invalid address.
    empty = "site=&building=&status=&severity=&category=&from=&to=&q="
    assert set(_ids(client.get(f"/alerts?{empty}").text)) == set(everything)
    # What is invalid is named.
    page = client.get("/alerts?from=yesterday")
    assert page.status_code == 422 and "From" in page.text
    assert client.get("/alerts?sort=password").status_code == 422
    # Not the manager's site: nothing of it, whichever way it is asked for.
    assert client.get("/alerts?site=beta").status_code == 404
    assert _ids(client.get("/alerts?building=beta/beta-block").text) == []

    # The form shows the filters it was given.
    html = client.get("/alerts?severity=warning&q=pump&from=2026-01-02").text
    assert '<option value="warning" selected>' in html
    assert 'name="q" value="pump"' in html and 'name="from" value="2026-01-02"' in html


def test_sorting_and_paging_keep_the_filters(world: World, client: TestClient) -> None:
    log_in(client, "manager")
    lamps = _raise(world.url, 55)  # critical: the world's own alerts are warnings
    fans = _raise(world.url, 3, severity="info", prefix="alpha-facility-block-fan")
    # A device named after its building ("<building>-..."), shown by the building's name.
    in_block = client.get("/alerts?building=alpha/alpha-facility-block&severity=info")
    assert _ids(in_block.text) == fans and "Plant alpha-facility" in in_block.text

    first = client.get("/alerts?severity=critical&sort=device")
    assert first.status_code == 200
    page1 = _ids(first.text)
    assert len(page1) == 50 and 'aria-sort="ascending"' in first.text
    link = _NEXT.search(first.text)
    assert link, "no next page"
    params = parse_qs(urlsplit(unescape(link.group(1))).query)
    assert params["severity"] == ["critical"] and params["sort"] == ["device"]
    page2 = _ids(client.get(unescape(link.group(1))).text)
    assert len(page2) == 5 and not set(page1) & set(page2)
    # By device A to Z: the lamps were numbered in that order.
    assert page1 + page2 == lamps
    assert _NEXT.search(client.get(unescape(link.group(1))).text) is None

    # Newest raised first by default; reversed, oldest first; ties broken by id either way.
    newest = _ids(client.get("/alerts?severity=critical").text)
    oldest = _ids(client.get("/alerts?severity=critical&sort=raised").text)
    assert newest[:3] == lamps[:3] and oldest[:3] == lamps[::-1][:3]
    # Worst first: the critical lamps before the world's warnings and the info fans.
    by_severity = _ids(client.get("/alerts?sort=-severity&status=all").text)
    assert set(by_severity[:50]) <= set(lamps)
    # A cursor that is not one is an invalid address, not an error.
    assert client.get("/alerts?after=bm9wZQ").status_code == 422


def test_bulk_acknowledge_and_resolve_record_each_alert(world: World, client: TestClient) -> None:
    csrf = log_in(client, "manager")
    lamps = _raise(world.url, 3)
    facility = world.places["facility"].alert_id
    response = client.post(
        "/alerts/bulk",
        data={
            "csrf_token": csrf,
            "action": "acknowledge",
            "alert": [str(i) for i in lamps],
            "comment": "路灯维修队已出发",
            "next": "/alerts?severity=critical&bulk=resolved&changed=9",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/alerts"
    assert parse_qs(location.query) == {
        "severity": ["critical"],
        "bulk": ["acknowledged"],
        "changed": ["3"],
        "skipped": ["0"],
    }
    for alert_id in lamps:
        assert _status(world.url, alert_id) == "acknowledged"
        assert _changes(world.url, alert_id) == [
            ("raised", "rule:lamp", None),
            ("acknowledged", "user:manager", None),
            ("commented", "user:manager", "路灯维修队已出发"),
        ]
    page = client.get(f"/alerts?{location.query}")
    assert "Acknowledged: 3 alerts." in page.text

    # Resolve two of them and the facility alert; one of the two again: left as it was.
    client.post(
        "/alerts/bulk",
        data={"csrf_token": csrf, "action": "resolve", "alert": [str(lamps[0])]},
    )
    response = client.post(
        "/alerts/bulk",
        data={
            "csrf_token": csrf,
            "action": "resolve",
            "alert": [str(lamps[0]), str(lamps[1]), str(facility)],
            "comment": "Fixed",
        },
        follow_redirects=False,
    )
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["changed"] == ["2"] and query["skipped"] == ["1"]
    assert [_status(world.url, i) for i in lamps] == ["resolved", "resolved", "acknowledged"]
    assert _changes(world.url, lamps[1])[-2:] == [
        ("commented", "user:manager", "Fixed"),
        ("resolved", "user:manager", None),
    ]
    assert _changes(world.url, lamps[0])[-1] == ("resolved", "user:manager", None)


def test_bulk_actions_touch_only_the_callers_alerts_and_need_the_csrf_token(
    world: World, client: TestClient
) -> None:
    csrf = log_in(client, "manager")
    beta = _raise(world.url, 1, site="beta", prefix="beta-lamp")[0]
    ours = _raise(world.url, 1)[0]
    before = _changes(world.url, beta)

    # Another site's alert among the manager's own: the whole form is refused, as for one alert.
    response = client.post(
        "/alerts/bulk",
        data={"csrf_token": csrf, "action": "resolve", "alert": [str(beta), str(ours)]},
        follow_redirects=False,
    )
    assert response.status_code == 404 and "beta" not in response.text
    assert _status(world.url, beta) == "open" and _changes(world.url, beta) == before
    assert _status(world.url, ours) == "open"

    other = _raise(world.url, 1, prefix="alpha-other-lamp")[0]
    for data in ({}, {"csrf_token": "forged"}):
        refused = client.post(
            "/alerts/bulk",
            data={**data, "action": "acknowledge", "alert": [str(other)]},
            follow_redirects=False,
        )
        assert refused.status_code == 403 and "The form has expired" in refused.text
    assert _status(world.url, other) == "open"

    # Nothing selected, or a comment that cannot be stored: nothing changes, and it says so.
    for data in ({"comment": "x"}, {"alert": [str(other)], "comment": "bad\x00"}):
        response = client.post(
            "/alerts/bulk",
            data={"csrf_token": csrf, "action": "acknowledge", **data},
            follow_redirects=False,
        )
        assert "problem=invalid" in response.headers["location"]
    assert _status(world.url, other) == "open"

    # An operator reads alerts but may not change them.
    operator_csrf = log_in(client, "operator")
    refused = client.post(
        "/alerts/bulk",
        data={"csrf_token": operator_csrf, "action": "acknowledge", "alert": [str(other)]},
        follow_redirects=False,
    )
    assert refused.status_code == 403 and _status(world.url, other) == "open"


def test_csv_export_is_the_filtered_list_for_excel(world: World, client: TestClient) -> None:
    log_in(client, "manager")
    facility = world.places["facility"].alert_id
    [formula] = _raise(world.url, 1, prefix="=HYPERLINK")
    with psycopg.connect(world.url) as conn:
        conn.execute("UPDATE people SET language = 'zh-CN'")
        conn.execute(
            "UPDATE devices SET name = 'Pump 1', names = '{\"zh-CN\": \"一号泵\"}'"
            " WHERE device_key = 'alpha-facility-pump'"
        )

    response = client.get("/alerts/export.csv?category=maintenance&sort=device")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    raw = response.content
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM: Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[:4] == ["告警", "严重程度", "状态", "类别"]
    assert [int(r[0]) for r in body] == [formula, facility]  # device A to Z: "=" before "a"
    record = dict(zip(header, body[1], strict=True))
    # The device by its name in the reader's language, beside its id.
    assert record["设备"] == "一号泵" and record["设备编号"] == "alpha-facility-pump"
    assert record["摘要"] == "一号泵 已离线"
    assert record["严重程度"] == "警告" and record["严重程度代码"] == "warning"
    # On the site's clock, with its offset.
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+08:00", record["发生时间"])
    # A cell that a spreadsheet would run is text.
    assert dict(zip(header, body[0], strict=True))["设备"] == "'=HYPERLINK-00"
    # Only what the caller sees.
    assert "beta" not in raw.decode("utf-8-sig")


def test_a_volunteer_keeps_the_cards(world: World, client: TestClient) -> None:
    log_in(client, "volunteer")
    page = client.get("/alerts")
    assert page.status_code == 200
    assert f'id="alert-{world.places["mine"].alert_id}"' in page.text
    assert 'class="card alert' in page.text
    assert "alert-table" not in page.text and 'action="/alerts/bulk"' not in page.text
    assert "alpha-theirs" not in page.text
    live = client.get("/alerts/rows")
    assert live.status_code == 200 and 'class="card alert' in live.text
