"""Device facts through the API: reads carry suggested/confirmed markers, a manager edits the
devices of their sites (audited), a bulk import plans, refuses wrong rows as a whole, and
applies; nobody else writes."""

from __future__ import annotations

import psycopg
from fastapi.testclient import TestClient

from tests.api.conftest import bearer
from tests.api.world import World

V = "/api/v1"


def _audit(world: World, action: str) -> list[tuple[object, ...]]:
    with psycopg.connect(world.url) as conn:
        return conn.execute(
            "SELECT actor, target, site_id, details FROM audit_log WHERE action = %s ORDER BY id",
            (action,),
        ).fetchall()


def test_reads_mark_suggested_facts(world: World, client: TestClient) -> None:
    mine = world.places["mine"]
    body = client.get(
        f"{V}/devices/{mine.device_id}", headers=bearer(world.tokens["volunteer"])
    ).json()
    assert (body["kind"], body["kind_state"]) == ("motion_sensor", "suggested")
    assert (body["role"], body["role_state"]) == ("motion", "suggested")
    assert body["display_name"] == mine.device_key  # nobody named it yet
    assert body["household_id"] == mine.household_id
    assert (body["first_seen"] is not None, body["names"], body["building_id"]) == (True, {}, None)
    # It sent a status message: its state is what that said (not judged from its data).
    assert (body["status"] != "unknown", body["status_source"]) == (True, "status")


def test_manager_sets_facts_and_they_are_confirmed(world: World, client: TestClient) -> None:
    mine = world.places["mine"]
    manager = bearer(world.tokens["manager"])
    url = f"{V}/devices/{mine.device_id}"
    edit = {
        "name": "Bed mat",
        "names": {"zh-CN": "床垫", "en": "Bed mat"},
        "kind": "bed_sensor",
        "building_id": mine.building_id,
        "unit": "2",
        "room": "1203",
        "role": "bed",
        "installed_on": "2026-11-02",
        "notes": "Under the mattress, left side.",
    }
    response = client.patch(url, json=edit, headers=manager)
    assert response.status_code == 200, response.text
    body = response.json()
    assert {k: body[k] for k in edit} == edit
    assert (body["kind_state"], body["role_state"]) == ("confirmed", "confirmed")
    assert body["display_name"] == "床垫"  # the manager reads Chinese (their person's language)
    english = {**bearer(world.tokens["admin"]), "Accept-Language": "en"}
    assert client.get(url, headers=english).json()["display_name"] == "Bed mat"
    listed = client.get(f"{V}/devices", params={"kind": "bed_sensor"}, headers=manager).json()
    assert [d["id"] for d in listed["items"]] == [mine.device_id]

    # Only what is sent changes; null hands the kind back to the suggestions.
    partial = client.patch(url, json={"kind": None, "unit": None}, headers=manager).json()
    assert (partial["kind"], partial["kind_state"], partial["unit"]) == (
        "bed_sensor", "suggested", None
    )  # fmt: skip
    assert (partial["name"], partial["role"], partial["role_state"]) == (
        "Bed mat",
        "bed",
        "confirmed",
    )

    audit = _audit(world, "device.write")
    assert [(a, t, s) for a, t, s, _ in audit] == [
        ("user:manager", f"device:alpha/{mine.device_key}", "alpha")
    ] * 2
    assert audit[0][3]["changes"]["kind"] == "bed_sensor"
    assert audit[1][3]["changes"] == {"kind": None, "unit": None}


def test_wrong_facts_name_their_field(world: World, client: TestClient) -> None:
    facility = world.places["facility"]
    manager = bearer(world.tokens["manager"])
    url = f"{V}/devices/{facility.device_id}"
    cases = [
        ({"kind": "flux_capacitor"}, "body.kind", "unknown_kind"),
        ({"role": "front_door"}, "body.role", "role_needs_household"),
        ({"building_id": "nowhere"}, "body.building_id", "unknown_building"),
        ({"household_id": "beta-home"}, "body.household_id", "unknown_household"),
    ]
    for edit, field, code in cases:
        response = client.patch(url, json=edit, headers=manager)
        assert response.status_code == 422, (edit, response.text)
        (problem,) = response.json()["error"]["fields"]
        assert (problem["field"], problem["message"].split(":")[0]) == (field, code)
    bad = client.patch(url, json={"role": "landlord", "installed_on": "soon"}, headers=manager)
    assert bad.status_code == 422
    assert {f["field"] for f in bad.json()["error"]["fields"]} == {
        "body.role",
        "body.installed_on",
    }
    assert _audit(world, "device.write") == []


def test_only_managers_of_the_site_edit(world: World, client: TestClient) -> None:
    beta = world.places["beta"]
    mine = world.places["mine"]
    edit = {"name": "Mine now"}
    foreign = client.patch(
        f"{V}/devices/{beta.device_id}", json=edit, headers=bearer(world.tokens["manager"])
    )
    assert foreign.status_code == 404
    for role in ("volunteer", "operator"):
        refused = client.patch(
            f"{V}/devices/{mine.device_id}", json=edit, headers=bearer(world.tokens[role])
        )
        assert refused.status_code == 403, (role, refused.text)
    admin = client.patch(
        f"{V}/devices/{beta.device_id}", json=edit, headers=bearer(world.tokens["admin"])
    )
    assert admin.status_code == 200
    assert _audit(world, "device.write")[0][:3] == (
        "user:admin", f"device:beta/{beta.device_key}", "beta"
    )  # fmt: skip


CSV = """device_key,name,name.zh-CN,kind,building,unit,room,household,role,role_room,installed_on
{mine},Kitchen PIR,厨房人体,,,,,,,kitchen,
hh-new-door,Fridge,冰箱,door_contact,{building},1,1203,alpha-mine,other_door,fridge,2026-12-01
lamp-001,Lamp 1,,street_light,,,,,,,
"""


def test_import_dry_run_then_apply(world: World, client: TestClient) -> None:
    mine = world.places["mine"]
    manager = {**bearer(world.tokens["manager"]), "Content-Type": "text/csv"}
    url = f"{V}/sites/alpha/devices/import"
    text = CSV.format(mine=mine.device_key, building=mine.building_id)
    # The PIR's room needs its role confirmed: a wrong row stops the whole import.
    wrong = client.post(url, content=text, headers=manager)
    assert wrong.status_code == 422, wrong.text
    assert [f["field"] for f in wrong.json()["error"]["fields"]] == ["rows[1].role_room"]
    text = text.replace(",,kitchen,", ",motion,kitchen,", 1)

    dry = client.post(url, params={"dry_run": "true"}, content=text, headers=manager)
    assert dry.status_code == 200, dry.text
    plan = dry.json()
    assert (plan["dry_run"], plan["applied"]) == (True, 0)
    assert [(r["row"], r["device_key"], r["action"]) for r in plan["rows"]] == [
        (1, mine.device_key, "update"),
        (2, "hh-new-door", "create"),
        (3, "lamp-001", "create"),
    ]
    assert {c["field"]: (c["before"], c["after"]) for c in plan["rows"][0]["changes"]} == {
        "name": (None, "Kitchen PIR"),
        "names": ({}, {"zh-CN": "厨房人体"}),
        "role": (None, "motion"),
        "role_room": (None, "kitchen"),
    }
    with psycopg.connect(world.url) as conn:
        assert conn.execute(
            "SELECT count(*) FROM devices WHERE device_key = 'lamp-001'"
        ).fetchone() == (0,)
    assert _audit(world, "device.import") == []

    applied = client.post(url, content=text, headers=manager)
    assert applied.status_code == 200, applied.text
    assert applied.json()["applied"] == 3
    again = client.post(url, params={"dry_run": "true"}, content=text, headers=manager).json()
    assert [r["action"] for r in again["rows"]] == ["unchanged"] * 3

    devices = client.get(
        f"{V}/devices", params={"household": "alpha-mine"}, headers=bearer(world.tokens["manager"])
    ).json()["items"]
    door = next(d for d in devices if d["device_key"] == "hh-new-door")
    assert (door["kind"], door["kind_state"], door["role"], door["role_room"]) == (
        "door_contact", "confirmed", "other_door", "fridge"
    )  # fmt: skip
    assert (door["first_seen"], door["installed_on"], door["building_id"]) == (
        None, "2026-12-01", mine.building_id
    )  # fmt: skip
    ((actor, target, site, details),) = _audit(world, "device.import")
    assert (actor, target, site) == ("user:manager", "site:alpha", "alpha")
    assert details["created"] == ["hh-new-door", "lamp-001"]


def test_import_errors_name_row_and_field_and_apply_nothing(
    world: World, client: TestClient
) -> None:
    manager = bearer(world.tokens["manager"])
    rows = [
        {"device_key": "ok-1", "name": "Fine"},
        {"device_key": "bad key!", "name": "X"},
        {"device_key": "ok-2", "kind": "warp_drive", "installed_on": "yesterday"},
        {"device_key": "ok-1", "name": "Again"},
        {"device_key": "ok-3", "colour": "red"},
    ]
    url = f"{V}/sites/alpha/devices/import"
    response = client.post(url, json=rows, headers=manager)
    assert response.status_code == 422, response.text
    fields = [f["field"] for f in response.json()["error"]["fields"]]
    assert fields == [
        "rows[2].device_key",
        "rows[3].installed_on",
        "rows[4].device_key",
        "rows[5].colour",
    ]
    # The store's checks run once the file itself is right.
    response = client.post(url, json=[rows[0], {"device_key": "ok-2", "kind": "warp_drive"}],
                           headers=manager)  # fmt: skip
    assert [f["field"] for f in response.json()["error"]["fields"]] == ["rows[2].kind"]
    with psycopg.connect(world.url) as conn:
        assert conn.execute(
            "SELECT count(*) FROM devices WHERE device_key LIKE 'ok-%'"
        ).fetchone() == (0,)
    assert client.post(url, content=b"x", headers=manager).status_code == 415


def test_import_is_scoped(world: World, client: TestClient) -> None:
    rows = [{"device_key": "x-1", "name": "X"}]
    beta = client.post(
        f"{V}/sites/beta/devices/import", json=rows, headers=bearer(world.tokens["manager"])
    )
    assert beta.status_code == 404
    volunteer = client.post(
        f"{V}/sites/alpha/devices/import", json=rows, headers=bearer(world.tokens["volunteer"])
    )
    assert volunteer.status_code == 403


def test_kinds_have_labels_in_the_callers_language(world: World, client: TestClient) -> None:
    headers = {**bearer(world.tokens["volunteer"]), "Accept-Language": "zh-CN"}
    kinds = {k["code"]: k for k in client.get(f"{V}/devices/kinds", headers=headers).json()}
    assert kinds["bed_sensor"]["label"] == "床垫传感器"
    assert (kinds["door_contact"]["category"], kinds["door_contact"]["household_role"]) == (
        "home", "front_door"
    )  # fmt: skip
    headers = {**bearer(world.tokens["admin"]), "Accept-Language": "en"}
    english = client.get(f"{V}/devices/kinds", headers=headers).json()
    assert {k["code"]: k["label"] for k in english}["sos_button"] == "SOS button"


def test_list_searches_ids_and_names_and_filters_by_building(
    world: World, client: TestClient
) -> None:
    mine = world.places["mine"]
    manager = bearer(world.tokens["manager"])
    edit = {"names": {"zh-CN": "卧室人体_1"}, "building_id": mine.building_id}
    assert client.patch(f"{V}/devices/{mine.device_id}", json=edit, headers=manager).is_success

    def keys(**params: str) -> list[str]:
        response = client.get(f"{V}/devices", params=params, headers=manager)
        assert response.status_code == 200, response.text
        return [d["device_key"] for d in response.json()["items"]]

    assert keys(q="卧室") == [mine.device_key]
    assert keys(q="ALPHA-MINE") == [mine.device_key]  # any case, in the id
    assert keys(q="人体_1") == [mine.device_key]
    assert keys(q="人体%1") == []  # % and _ are literal
    assert keys(building=mine.building_id) == [mine.device_key]
    assert keys(q="beta") == []  # another site's device stays out of reach


def test_a_community_onboards_300_devices_before_they_speak(
    world: World, client: TestClient
) -> None:
    header = "device_key,name,name.zh-CN,kind,building,unit,room\n"
    lines = [
        f"b07-{n:03d}-door,Unit door {n},{n}号单元门,unit_door,alpha-facility-block,{n % 6 + 1},"
        for n in range(300)
    ]
    manager = {**bearer(world.tokens["manager"]), "Content-Type": "text/csv"}
    url = f"{V}/sites/alpha/devices/import"
    response = client.post(url, content=header + "\n".join(lines) + "\n", headers=manager)
    assert response.status_code == 200, response.text
    assert response.json()["applied"] == 300
    with psycopg.connect(world.url) as conn:
        row = conn.execute(
            "SELECT count(*), count(first_seen), count(*) FILTER (WHERE kind_confirmed)"
            " FROM devices WHERE device_key LIKE 'b07-%'"
        ).fetchone()
    assert row == (300, 0, 300)
