"""courtyard.provision: a scenario's buildings land in the store, and each household in its own."""

from __future__ import annotations

import psycopg

from courtyard.provision import SENSOR_FACTS, household_devices, provision
from device_sims.households.home_kit import kit_sensors
from device_sims.scenario import load_scenario
from store.devices.catalogue import KINDS


def test_provision_writes_buildings_and_households_buildings(database_url: str) -> None:
    scenario = load_scenario("small-community")
    with psycopg.connect(database_url) as conn:
        provision(conn, scenario)
        provision(conn, scenario)  # again: nothing doubles
        buildings = conn.execute(
            "SELECT site_id, id, name, floors FROM buildings ORDER BY id"
        ).fetchall()
        households: dict[str, str | None] = dict(
            conn.execute("SELECT id, building_id FROM households WHERE site_id = 'sunny-court'")
        )
    assert buildings == [("sunny-court", f"b0{n}", f"Block {n}", 12) for n in range(1, 5)]
    assert households == {h.id: h.building for h in scenario.households}
    assert households["hh-06"] == "b03" and len(households) == 10


def test_provision_gives_each_kit_sensor_its_role_and_keeps_a_managers(database_url: str) -> None:
    scenario = load_scenario("incident-night-wandering")  # hh-01 native, hh-02 Zigbee2MQTT

    def roles() -> dict[str, tuple[str, str | None]]:
        rows = conn.execute(
            "SELECT device_key, role, role_room FROM household_devices"
            " WHERE site_id = 'incident-night-wandering' AND household_id = 'hh-01'"
        ).fetchall()
        return {key: (role, room) for key, role, room in rows}

    with psycopg.connect(database_url) as conn:
        provision(conn, scenario)
        found = roles()
        assert found["hh-01-door"] == ("front_door", None)
        assert found["hh-01-pir-living"] == ("motion", "living_room")
        # The Zigbee2MQTT kit's devices, by the ids ingest derives from their friendly names.
        z2m = dict(
            conn.execute(
                "SELECT device_key, role FROM household_devices WHERE household_id = 'hh-02'"
            ).fetchall()
        )
        (spec,) = [h for h in scenario.households if h.id == "hh-02"]
        assert sorted(z2m.values()) == sorted(
            "motion" if s.room else SENSOR_FACTS[s.role][1] for s in kit_sensors(spec)
        )
        assert all(key.startswith("z2m-") for key in z2m)
        conn.execute(
            "UPDATE household_devices SET role = 'other_door', role_room = 'balcony'"
            " WHERE device_key = 'hh-01-door'"
        )
        provision(conn, scenario)  # a second run keeps what a manager said
        assert roles()["hh-01-door"] == ("other_door", "balcony")


def test_the_demo_names_every_device_in_both_languages_with_a_confirmed_kind_and_role(
    database_url: str,
) -> None:
    scenario = load_scenario("small-community")
    with psycopg.connect(database_url) as conn:
        provision(conn, scenario)
        provision(conn, scenario)  # again: the facts stay as they were set
        devices = conn.execute(
            "SELECT device_key, name, names, kind, kind_confirmed, building_id FROM devices"
            " WHERE site_id = 'sunny-court'"
        ).fetchall()
        roles = {
            key: (role, room, confirmed)
            for key, role, room, confirmed in conn.execute(
                "SELECT device_key, role, role_room, role_confirmed FROM household_device_roles"
                " WHERE site_id = 'sunny-court'"
            ).fetchall()
        }
    # Every device the simulator sends as, its gateway included, is described before it speaks.
    assert len(devices) == scenario.device_count() + 1
    unnamed = [d[0] for d in devices if not d[1] or set(d[2]) != {"en", "zh-CN"}]
    assert unnamed == []
    assert [d[0] for d in devices if not d[4] or d[3] not in KINDS] == []
    kinds = {d[0]: d[3] for d in devices}
    assert kinds["light-07"] == "street_light" and kinds["b03-eqroom-01"] == "room_climate"
    names = {d[0]: d[2] for d in devices}
    assert names["pump-01"] == {"en": "Booster pump 1", "zh-CN": "1号加压泵"}
    assert names["b02-elevator-01"] == {"en": "Block 2 lift 1", "zh-CN": "2号楼1号电梯"}

    in_households = {key for keys in household_devices(scenario).values() for key in keys}
    assert set(roles) == in_households
    assert [key for key, (_, _, confirmed) in roles.items() if not confirmed] == []
    assert roles["hh-02-door"][:2] == ("front_door", None)
    assert roles["hh-02-bed"][:2] == ("bed", "bedroom")
    assert roles["hh-02-chair"][:2] == ("seat", "living_room")
    assert roles["hh-02-sos"][:2] == ("sos", None)
    assert roles["hh-08-pir-bathroom"][:2] == ("motion", "bathroom")
    assert names["hh-02-sos"] == {"en": "Room 1-402 SOS button", "zh-CN": "Room 1-402 紧急按钮"}
