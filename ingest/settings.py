"""IngestSettings: broker connection, subscription, batching and the bounds of what is in flight."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from ingest.wire import ID_PATTERN, TOPIC_ROOT, is_identifier


class IngestSettings(BaseModel):
    #: mqtt://user:pass@host:port. Filled from COURTYARD_MQTT_URL, or by `courtyard up` with the
    #: embedded broker's URL when that is unset.
    mqtt_url: str = ""
    #: Fixed client id: the broker keeps this worker's persistent session (and its unacknowledged
    #: messages) under it across restarts. Give every worker its own.
    client_id: str = "courtyard-ingest-1"
    #: Workers with the same group split the messages ($share/<group>/...). Empty: no sharing,
    #: the safest choice for a single worker: Mosquitto (2.0.11 measured) does not restore
    #: shared subscriptions from its persistence file, so after a broker restart it drops what
    #: is published before the group's workers reconnect. A plain subscription is restored.
    share_group: str = ""
    protocol: Literal["auto", "5", "3.1.1"] = "auto"
    keepalive_s: int = Field(default=30, ge=5)
    #: Zigbee2MQTT base topic -> site of the gateway that publishes under it. A base may not
    #: overlap courtyard/v1/ (ingest subscribes to all of it as the native format).
    zigbee2mqtt_bases: dict[str, str] = Field(default_factory=dict)
    #: A batch is written when it holds this many messages, or when its oldest message is older
    #: than batch_max_age_s. Larger batches amortise the commit; the age bounds latency.
    batch_max_messages: int = Field(default=2000, ge=1)
    batch_max_age_s: float = Field(default=0.2, gt=0)
    #: The one bound on messages held in memory: the inbox size, and the MQTT 5 Receive Maximum
    #: (at most 65535), so the broker never sends more than ingest has room for.
    max_undelivered: int = Field(default=10_000, ge=1, le=65_535)
    max_payload_bytes: int = Field(default=256 * 1024, ge=64)
    #: Series (metric names) one device may have. Readings of further new metrics are not
    #: stored: their message gets a reject saying which. Bounds what a broken or hostile device
    #: costs the series dictionary; generous for a gateway's SenML pack.
    max_series_per_device: int = Field(default=500, ge=1)
    #: Bounds on a JSON payload's values, checked right after parsing: a message past one is a
    #: reject naming it. Depth counts levels of objects and arrays (the payload itself is 1);
    #: the writer could not store an event nesting deeper than 254 levels, and no device needs
    #: more than a handful. Strings (keys too) count characters; items count array items and
    #: object members.
    max_json_depth: int = Field(default=32, ge=2, le=1024)
    max_json_string_chars: int = Field(default=4096, ge=1)
    max_json_items: int = Field(default=4096, ge=1)
    #: Device clocks run fast; readings further in the future than this are rejected.
    future_tolerance_s: float = Field(default=300.0, ge=0)
    #: Serve Prometheus metrics on http://<metrics_host>:<metrics_port>/metrics when set
    #: (`courtyard ingest` only; `courtyard up` serves them with the API).
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
    #: Transient database errors are retried with exponential backoff capped at this: after an
    #: outage, ingest writes again within this long of the database's return.
    retry_max_backoff_s: float = Field(default=2.0, gt=0)

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_url(cls, value: str) -> str:
        return check_mqtt_url(value)

    @field_validator("zigbee2mqtt_bases")
    @classmethod
    def _bases(cls, value: dict[str, str]) -> dict[str, str]:
        for base, site in value.items():
            check_base_topic(base)
            if not is_identifier(site):
                raise ValueError(f"site {site!r} of base {base!r} must match {ID_PATTERN.pattern}")
        return value

    @field_validator("client_id", "share_group")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if value and ID_PATTERN.fullmatch(value) is None:
            raise ValueError(f"{value!r} must match {ID_PATTERN.pattern}")
        return value


def check_mqtt_url(value: str) -> str:
    if value and not value.startswith(("mqtt://", "mqtts://")):
        raise ValueError("must be an mqtt://user:password@host:port URL")
    return value


def check_base_topic(base: str) -> str:
    """A Zigbee2MQTT base topic ingest can subscribe to on its own: `<base>/#`."""
    levels = base.split("/")
    if "" in levels or any(c in base for c in "+#") or base.startswith("$"):
        raise ValueError(f"base topic {base!r} has an empty level, a wildcard or a leading $")
    root = TOPIC_ROOT.split("/")
    if levels[: len(root)] == root[: len(levels)]:
        # Under courtyard/v1 or above it: its messages would be read as native ones, or twice.
        raise ValueError(f"base topic {base!r} overlaps {TOPIC_ROOT}/")
    return base
