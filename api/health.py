"""/healthz checks: the database answers a query, the broker accepts an MQTT CONNECT."""

from __future__ import annotations

import ssl
import threading
import uuid
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import anyio.to_thread
import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from store.liveness import ping_async


@dataclass(frozen=True, slots=True)
class Check:
    ok: bool
    detail: str


async def database(
    pool: AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]], timeout_s: float
) -> Check:
    # The pool pings what it hands out; the ping here has a deadline of its own. No
    # asyncio.timeout around a psycopg query: cancelling one waits for the server (~10 s).
    try:
        async with pool.connection(timeout=timeout_s) as conn:
            await ping_async(conn, timeout_s)
    except Exception as exc:  # any failure is the answer, not an error of ours
        return Check(False, f"{type(exc).__name__}: {exc}".strip()[:200])
    return Check(True, "ok")


async def broker(url: str, timeout_s: float) -> Check:
    if not url:
        return Check(True, "not configured")
    return await anyio.to_thread.run_sync(_mqtt_connect, url, timeout_s, abandon_on_cancel=True)


def _mqtt_connect(url: str, timeout_s: float) -> Check:
    """One MQTT CONNECT with the URL's credentials; the CONNACK's reason is the answer."""
    parts = urlsplit(url)
    tls = parts.scheme == "mqtts"
    port = parts.port or (8883 if tls else 1883)
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"courtyard-health-{uuid.uuid4().hex[:12]}",
        clean_session=True,
    )
    if parts.username:
        client.username_pw_set(unquote(parts.username), unquote(parts.password or ""))
    if tls:
        client.tls_set_context(ssl.create_default_context())
    answered = threading.Event()
    reason: list[str] = []

    def on_connect(
        client: mqtt.Client,
        userdata: object,
        flags: object,
        reason_code: object,
        properties: object,
    ) -> None:
        reason.append(str(reason_code))
        answered.set()

    client.on_connect = on_connect
    try:
        client.connect(parts.hostname or "127.0.0.1", port, keepalive=max(5, int(timeout_s) + 1))
        client.loop_start()
        try:
            if not answered.wait(timeout_s):
                return Check(False, f"no CONNACK within {timeout_s} s")
        finally:
            client.disconnect()
            client.loop_stop()
    except OSError as exc:
        return Check(False, f"{type(exc).__name__}: {exc}"[:200])
    return Check(reason == ["Success"], reason[0] if reason else "no answer")
