"""load_decode_context: what decoders need from settings and the store (the alias map)."""

from __future__ import annotations

import psycopg
from psycopg.rows import TupleRow

from ingest.decoders.result import DecodeContext
from ingest.settings import IngestSettings
from store.devices import load_aliases
from store.settings import StoreSettings


def load_decode_context(
    settings: IngestSettings, store: StoreSettings, conn: psycopg.Connection[TupleRow]
) -> DecodeContext:
    with conn.transaction():
        aliases = load_aliases(conn)
    return DecodeContext(
        zigbee2mqtt_bases=settings.zigbee2mqtt_bases,
        aliases=aliases,
        max_payload_bytes=settings.max_payload_bytes,
        future_tolerance_s=settings.future_tolerance_s,
        retention_days=store.retention_days,
    )
