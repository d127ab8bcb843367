"""courtyard.provision: a scenario's buildings land in the store, and each household in its own."""

from __future__ import annotations

import psycopg

from courtyard.provision import KIT_ROLES, provision
from device_sims.households.home_kit import kit_sensors
from device_sims.scenario import load_scenario


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
    assert buildings == [("sunny-court", f"b0{n}", f"b0{n}", 12) for n in range(1, 5)]
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
        assert sorted(z2m.values()) == sorted(KIT_ROLES[s.role] for s in kit_sensors(spec))
        assert all(key.startswith("z2m-") for key in z2m)
        conn.execute(
            "UPDATE household_devices SET role = 'other_door', role_room = 'balcony'"
            " WHERE device_key = 'hh-01-door'"
        )
        provision(conn, scenario)  # a second run keeps what a manager said
        assert roles()["hh-01-door"] == ("other_door", "balcony")
