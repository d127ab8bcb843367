"""A simulated Zigbee2MQTT home kit, its bridge's retained `bridge/devices` included, through a
real broker and ingest: each sensor gets the right suggested kind and household role."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from courtyard.embedded import EmbeddedMosquitto
from device_sims.encode import OutputFormat
from device_sims.publisher import MqttSink
from device_sims.runner import run
from device_sims.scenario import load_scenario
from tests.support.ingest import RunningIngest

#: The small community's household with a chair mat (friendly names "Room 1-402 ...").
HOME = "Room 1-402"
EXPECTED = {
    "bedroom motion": ("motion_sensor", "motion", "bedroom"),
    "kitchen motion": ("motion_sensor", "motion", "kitchen"),
    "front door": ("door_contact", "front_door", None),
    "bed": ("bed_sensor", "bed", None),
    "chair": ("seat_sensor", "seat", None),
    "SOS button": ("sos_button", "sos", None),
    "kettle plug": ("smart_plug", "appliance", None),
}


def test_home_kit_devices_get_suggested_kinds_and_roles(
    start_ingest: Callable[..., RunningIngest], fresh_broker: EmbeddedMosquitto
) -> None:
    hour = 3600.0
    scenario = load_scenario("small-community").with_overrides(
        start=datetime.now(UTC) - timedelta(seconds=hour),
        duration_s=hour,
        fmt=OutputFormat.ZIGBEE2MQTT,
    )
    sink = MqttSink(fresh_broker.url, scenario.site.id, scenario.gateway, client_id="kit-sim")
    summary = run(scenario, sink)
    assert summary.messages["zigbee2mqtt_bridge"] == 1
    # Ingest starts after the bridge published: the device list is retained, as the real
    # bridge's is, so a worker that (re)subscribes still learns what every device is.
    ingest = start_ingest(zigbee2mqtt_bases={scenario.z2m_base: scenario.site.id})
    names = [f"{HOME} {n}" for n in EXPECTED]
    ingest.wait_for_count(
        f"SELECT count(*) FROM device_aliases WHERE name = ANY(ARRAY{names!r})", len(names)
    )
    rows = ingest.query(
        "SELECT a.name, d.kind, d.kind_confirmed, d.role_suggested, d.role_room_suggested,"
        " d.name, d.attrs->'zigbee2mqtt'->>'model'"
        " FROM device_aliases a JOIN devices d ON d.id = a.device_id WHERE a.name = ANY(%s)",
        (names,),
    )
    found = {str(r[0]).removeprefix(f"{HOME} "): (r[1], r[3], r[4]) for r in rows}
    assert found == EXPECTED
    assert {r[2] for r in rows} == {False}, "inferred kinds are suggestions"
    assert {r[5] for r in rows} == set(names), "the friendly name is the display name"
    assert all(r[6] for r in rows)
    assert ingest.scalar("SELECT count(*) FROM rejected_messages") == 0
