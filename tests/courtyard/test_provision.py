"""courtyard.provision: a scenario's buildings land in the store, and each household in its own."""

from __future__ import annotations

import psycopg

from courtyard.provision import provision
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
