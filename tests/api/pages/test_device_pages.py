"""The device pages through the real app and database: a site's device list (search, filters,
keyset pages, names rather than ids), a device's edit form (saved, audited, errors beside their
field, suggestions confirmed only when asked), and a household's setup (roles saved and audited,
devices added and removed). Scoping and CSRF of every page route are in test_page_scoping.py."""

from __future__ import annotations

import re
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from i18n.languages import translations
from tests.api.pages.browser_session import csrf_of, log_in
from tests.api.world import World


def _devices(url: str, site: str, keys: list[str], **facts: Any) -> None:
    """Silent devices (never heard from) of `site` with the same facts."""
    with psycopg.connect(url) as conn:
        for key in keys:
            conn.execute(
                "INSERT INTO devices (site_id, device_key, kind, name, building_id, online)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (
                    site,
                    key,
                    facts.get("kind"),
                    facts.get("name"),
                    facts.get("building_id"),
                    facts.get("online"),
                ),
            )


_CHINESE_NAME = """UPDATE devices SET names = '{"zh-CN": "冰箱门"}' WHERE device_key = %s"""


def _facts(url: str, key: str) -> dict[str, object]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            """
            SELECT d.name, d.names, d.kind, d.kind_confirmed, d.building_id, d.unit, d.room,
                   d.installed_on::text, d.notes, hd.household_id, hd.role, hd.role_room
            FROM devices d LEFT JOIN household_devices hd
              ON hd.site_id = d.site_id AND hd.device_key = d.device_key
            WHERE d.device_key = %s
            """,
            (key,),
        ).fetchone()
    assert row is not None
    names = ("name", "names", "kind", "kind_confirmed", "building_id", "unit", "room",
             "installed_on", "notes", "household_id", "role", "role_room")  # fmt: skip
    return dict(zip(names, row, strict=True))


def _audit(url: str, action: str = "device.write") -> list[tuple[str, str, dict[str, Any]]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT actor, target, details FROM audit_log WHERE action = %s ORDER BY id",
            (action,),
        ).fetchall()
    return [(str(a), str(t), dict(d)) for a, t, d in rows]


def _listed(html: str) -> list[str]:
    """The device links of a list page, in order: their text."""
    return re.findall(r'<th scope="row"><a href="/devices/\d+">([^<]+)</a>', html)


def test_the_device_list_searches_filters_and_pages(world: World, client: TestClient) -> None:
    lamps = [f"alpha-lamp-{n:03d}" for n in range(60)]
    _devices(world.url, "alpha", lamps, kind="street_light", online=True)
    _devices(world.url, "alpha", ["alpha-fridge-door"], name="Fridge door", kind="door_contact")
    with psycopg.connect(world.url) as conn:
        conn.execute(_CHINESE_NAME, ("alpha-fridge-door",))
    log_in(client, "manager")

    # The overview's kind rows lead to the filtered list.
    overview = client.get("/sites/alpha").text
    assert 'href="/sites/alpha/devices?kind=street_light"' in overview

    first = client.get("/sites/alpha/devices", params={"kind": "street_light"})
    assert first.status_code == 200
    assert _listed(first.text) == lamps[:50]
    more = re.search(r'href="(/sites/alpha/devices\?[^"]+)" rel="next"', first.text)
    assert more is not None
    second = client.get(more.group(1).replace("&amp;", "&"))
    assert _listed(second.text) == lamps[50:]
    assert 'rel="next"' not in second.text

    # The form's "any" choices are empty values.
    anything = {"q": "", "kind": "", "building": "", "state": ""}
    assert len(_listed(client.get("/sites/alpha/devices", params=anything).text)) == 50

    # A name in any language, any case; the id; filters combine.
    for query in ("fridge", "冰箱", "ALPHA-FRIDGE"):
        found = client.get("/sites/alpha/devices", params={"q": query}).text
        assert _listed(found) == ["Fridge door"], query
    assert _listed(client.get("/sites/alpha/devices", params={"q": "lamp-05"}).text) == [
        f"alpha-lamp-05{n}" for n in range(10)
    ]
    offline = client.get("/sites/alpha/devices", params={"state": "offline"}).text
    assert _listed(offline) == ["alpha-facility-pump"]
    alerting = client.get("/sites/alpha/devices", params={"state": "alerting"}).text
    assert _listed(alerting) == ["alpha-facility-pump"]
    unknown_kind = client.get("/sites/alpha/devices", params={"kind": "unknown"}).text
    assert _listed(unknown_kind) == [], "every device has a kind"
    both = client.get("/sites/alpha/devices", params={"q": "lamp", "kind": "door_contact"}).text
    assert _listed(both) == [] and "No devices match." in both

    # A building filter.
    with psycopg.connect(world.url) as conn:
        conn.execute(
            "UPDATE devices SET building_id = 'alpha-facility-block'"
            " WHERE device_key = 'alpha-lamp-007'"
        )
    block = client.get("/sites/alpha/devices", params={"building": "alpha-facility-block"})
    assert _listed(block.text) == ["alpha-lamp-007"]


def test_the_device_list_reads_names_in_the_readers_language(
    world: World, client: TestClient
) -> None:
    _devices(world.url, "alpha", ["alpha-fridge-door"], name="Fridge door", kind="door_contact")
    with psycopg.connect(world.url) as conn:
        conn.execute(_CHINESE_NAME, ("alpha-fridge-door",))
        conn.execute("UPDATE people SET language = 'zh-CN' WHERE id = 'alpha-facility-manager'")
    log_in(client, "manager")
    page = client.get("/sites/alpha/devices", params={"q": "fridge"}).text
    assert _listed(page) == ["冰箱门"]
    assert translations("zh-CN").gettext("Door or window contact") in page  # the kind


def test_volunteers_and_other_sites_do_not_reach_the_device_list(
    world: World, client: TestClient
) -> None:
    log_in(client, "volunteer")
    assert client.get("/sites/alpha/devices").status_code == 404
    log_in(client, "manager")
    refused = client.get("/sites/beta/devices")
    assert refused.status_code == 404 and "beta-home" not in refused.text


def test_a_manager_edits_a_device_and_the_change_is_audited(
    world: World, client: TestClient
) -> None:
    mine = world.places["mine"]
    csrf = log_in(client, "manager")
    form = client.get(f"/devices/{mine.device_id}/edit")
    assert form.status_code == 200
    # The world's motion sensor's kind was set without confirmation: it is a suggestion.
    assert "suggested" in form.text and 'name="confirm_kind"' in form.text
    saved = client.post(
        f"/devices/{mine.device_id}/edit",
        data={
            "csrf_token": csrf,
            "name": "Hallway motion",
            "name.en": "Hallway motion",
            "name.zh-CN": "走廊人体感应",
            "kind": "motion_sensor",
            "confirm_kind": "1",
            "building_id": "alpha-mine-block",
            "unit": "2",
            "room": "1203",
            "household_id": "alpha-mine",
            "role": "motion",
            "confirm_role": "1",
            "role_room": "hallway",
            "installed_on": "2026-11-30",
            "notes": "Above the hallway door.",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"/devices/{mine.device_id}/edit?done=saved"
    assert _facts(world.url, mine.device_key) == {
        "name": "Hallway motion",
        "names": {"en": "Hallway motion", "zh-CN": "走廊人体感应"},
        "kind": "motion_sensor",
        "kind_confirmed": True,
        "building_id": "alpha-mine-block",
        "unit": "2",
        "room": "1203",
        "installed_on": "2026-11-30",
        "notes": "Above the hallway door.",
        "household_id": "alpha-mine",
        "role": "motion",
        "role_room": "hallway",
    }
    [(actor, target, details)] = _audit(world.url)
    assert actor == "user:manager" and target == f"device:alpha/{mine.device_key}"
    assert details["changes"]["kind"] == "motion_sensor"
    assert details["changes"]["role_room"] == "hallway"
    assert details["changes"]["installed_on"] == "2026-11-30"
    page = client.get(saved.headers["location"]).text
    assert "Saved." in page and 'name="confirm_kind"' not in page  # confirmed now


def test_sending_the_form_back_keeps_suggestions_suggested(
    world: World, client: TestClient
) -> None:
    mine = world.places["mine"]
    csrf = log_in(client, "manager")
    page = client.get(f"/devices/{mine.device_id}/edit").text
    fields = dict(
        re.findall(
            r'<input id="[^"]+" name="([^"]+)" type="(?:text|date)"[^>]*value="([^"]*)"', page
        )
    )
    saved = client.post(
        f"/devices/{mine.device_id}/edit",
        data={
            **fields,
            "csrf_token": csrf,
            "kind": "motion_sensor",
            "role": "motion",
            "household_id": "alpha-mine",
            "notes": "",
            "name": "Motion",
        },  # fmt: skip
        follow_redirects=False,
    )
    assert saved.status_code == 303
    facts = _facts(world.url, mine.device_key)
    assert facts["name"] == "Motion"
    assert facts["kind_confirmed"] is False and facts["role"] is None
    [(_, _, details)] = _audit(world.url)
    assert details["changes"] == {"name": "Motion"}


def test_wrong_values_are_shown_beside_their_fields_and_nothing_is_saved(
    world: World, client: TestClient
) -> None:
    facility = world.places["facility"]
    csrf = log_in(client, "manager")
    refused = client.post(
        f"/devices/{facility.device_id}/edit",
        data={
            "csrf_token": csrf,
            "name": "Pump 1",
            "kind": "flux_capacitor",
            "installed_on": "2026-13-45",
            "household_id": "",
            "role": "front_door",
        },
    )
    assert refused.status_code == 422
    text = refused.text
    assert "Nothing was saved" in text
    assert re.search(r'id="kind"[^>]*aria-invalid="true"', text)
    assert 'id="kind-error"' in text and "This kind is not in the catalogue." in text
    assert 'id="installed_on-error"' in text and "Enter a date" in text
    assert 'value="Pump 1"' in text, "what was typed is kept"
    assert _facts(world.url, facility.device_key)["name"] is None
    assert _audit(world.url) == []

    role_alone = client.post(
        f"/devices/{facility.device_id}/edit",
        data={"csrf_token": csrf, "role": "front_door"},
    )
    assert role_alone.status_code == 422
    assert 'id="role-error"' in role_alone.text and "choose the household too" in role_alone.text


def test_volunteers_and_operators_cannot_edit(world: World, client: TestClient) -> None:
    mine = world.places["mine"]
    for user in ("volunteer", "operator"):
        csrf = log_in(client, user)
        assert client.get(f"/devices/{mine.device_id}/edit").status_code in (403, 404)
        posted = client.post(
            f"/devices/{mine.device_id}/edit", data={"csrf_token": csrf, "name": "Mine now"}
        )
        assert posted.status_code in (403, 404)
    assert _facts(world.url, mine.device_key)["name"] is None
    # A manager of alpha: beta's devices and households do not exist.
    beta = world.places["beta"]
    csrf = log_in(client, "manager")
    for path in (f"/devices/{beta.device_id}/edit", "/households/beta/beta-home/setup"):
        assert client.get(path).status_code == 404
        posted = client.post(path, data={"csrf_token": csrf, "name": "Ours", "add": "x"})
        assert posted.status_code == 404 and "beta" not in posted.text
    assert _facts(world.url, beta.device_key)["name"] is None
    assert _audit(world.url) == []


def test_a_manager_sets_up_a_household(world: World, client: TestClient) -> None:
    _devices(world.url, "alpha", ["alpha-fridge-door"], kind="door_contact")
    _devices(world.url, "alpha", ["alpha-bed-mat"], kind="bed_sensor", name="Bed mat")
    mine = world.places["mine"]
    csrf = log_in(client, "manager")
    household = client.get("/households/alpha/alpha-mine").text
    assert 'href="/households/alpha/alpha-mine/setup"' in household
    page = client.get("/households/alpha/alpha-mine/setup")
    assert page.status_code == 200
    # The motion sensor's role is the suggestion from its kind, pre-filled and marked.
    assert re.search(r'name="role:alpha-mine-motion">.*?value="motion" selected', page.text, re.S)
    assert 'name="confirm_role:alpha-mine-motion"' in page.text
    assert '<option value="alpha-fridge-door">' in page.text  # in no household yet

    fridge = client.post(
        "/households/alpha/alpha-mine/setup",
        data={
            "csrf_token": csrf,
            "role:alpha-mine-motion": "motion",
            "role_room:alpha-mine-motion": "living_room",
            "confirm_role:alpha-mine-motion": "1",
            "add": "alpha-fridge-door",
            "add_role": "other_door",
            "add_role_room": "fridge",
        },
        follow_redirects=False,
    )
    assert fridge.status_code == 303, fridge.text
    assert _facts(world.url, mine.device_key)["role_room"] == "living_room"
    door = _facts(world.url, "alpha-fridge-door")
    assert (door["household_id"], door["role"], door["role_room"]) == (
        "alpha-mine",
        "other_door",
        "fridge",
    )
    audited = {target: details["changes"] for _, target, details in _audit(world.url)}
    assert audited == {
        "device:alpha/alpha-mine-motion": {"role": "motion", "role_room": "living_room"},
        "device:alpha/alpha-fridge-door": {
            "household_id": "alpha-mine",
            "role": "other_door",
            "role_room": "fridge",
        },
    }
    with psycopg.connect(world.url) as conn:
        roles = conn.execute(
            "SELECT device_key, role, role_room, role_confirmed FROM household_device_roles"
            " WHERE household_id = 'alpha-mine' ORDER BY device_key"
        ).fetchall()
    assert roles == [
        ("alpha-fridge-door", "other_door", "fridge", True),
        ("alpha-mine-motion", "motion", "living_room", True),
    ]

    # The bed mat comes in with its kind's role suggested; the fridge door goes.
    second = client.post(
        "/households/alpha/alpha-mine/setup",
        data={"csrf_token": csrf, "add": "alpha-bed-mat", "remove:alpha-fridge-door": "1"},
        follow_redirects=False,
    )
    assert second.status_code == 303
    assert _facts(world.url, "alpha-fridge-door")["household_id"] is None
    page = client.get("/households/alpha/alpha-mine/setup").text
    assert "Bed mat" in page
    assert re.search(r'name="role:alpha-bed-mat">.*?value="bed" selected', page, re.S)


def test_household_setup_shows_errors_beside_the_device(world: World, client: TestClient) -> None:
    csrf = log_in(client, "manager")
    refused = client.post(
        "/households/alpha/alpha-mine/setup",
        data={"csrf_token": csrf, "role:alpha-mine-motion": "", "add": "beta-home-motion"},
    )
    assert refused.status_code == 422
    assert 'id="add-error"' in refused.text and "in no household" in refused.text
    assert "beta-home" not in refused.text
    room_alone = client.post(
        "/households/alpha/alpha-mine/setup",
        data={
            "csrf_token": csrf,
            "add": "alpha-facility-pump",
            "add_role_room": "kitchen",
        },
        follow_redirects=False,
    )
    assert room_alone.status_code == 303  # a room without a role is ignored, not an error
    assert _audit(world.url)[0][1] == "device:alpha/alpha-facility-pump"
    assert csrf_of(client.get("/households/alpha/alpha-mine/setup").text)


def test_a_volunteer_reads_device_names_never_ids(world: World, client: TestClient) -> None:
    """A named device by its name (theirs in their language), one nobody named by its kind."""
    _devices(world.url, "alpha", ["alpha-mine-sos-b470105e"], kind="sos_button")
    with psycopg.connect(world.url) as conn:
        conn.execute(
            "INSERT INTO household_devices (site_id, device_key, household_id)"
            " VALUES ('alpha', 'alpha-mine-sos-b470105e', 'alpha-mine')"
        )
        conn.execute(
            "UPDATE devices SET name = 'Hallway', names = '{\"zh-CN\": \"走廊\"}'"
            " WHERE device_key = 'alpha-mine-motion'"
        )
    log_in(client, "volunteer")
    page = client.get("/households/alpha/alpha-mine").text
    assert "Hallway" in page and "SOS button" in page
    assert "alpha-mine-motion" not in page
    assert "b470105e" not in page
    with psycopg.connect(world.url) as conn:
        conn.execute("UPDATE people SET language = 'zh-CN' WHERE id = 'alpha-mine-volunteer'")
    assert "走廊" in client.get("/households/alpha/alpha-mine").text
