"""Device registry queries: aliases (gateway names) and what the registry knows of devices."""

from __future__ import annotations

import psycopg
from psycopg.rows import TupleRow

from store.records import DeviceRef


def load_aliases(conn: psycopg.Connection[TupleRow]) -> dict[tuple[str, str], DeviceRef]:
    """(source, gateway name) -> device, e.g. ("zigbee2mqtt:zigbee2mqtt", "Kitchen PIR")."""
    rows = conn.execute(
        """
        SELECT a.source, a.name, d.site_id, d.device_key
        FROM device_aliases a JOIN devices d ON d.id = a.device_id
        """
    ).fetchall()
    return {(source, name): DeviceRef(site, device) for source, name, site, device in rows}
