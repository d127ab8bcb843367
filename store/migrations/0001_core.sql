-- Core tables: sites, the device registry, the series dictionary, readings, events, rejects.
-- Plain names on purpose: people query these directly (psql, Grafana, reports).

CREATE TABLE sites (
    id          text PRIMARY KEY,
    name        text,
    timezone    text NOT NULL DEFAULT 'Asia/Shanghai',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE devices (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id             text NOT NULL REFERENCES sites (id),
    device_key          text NOT NULL,          -- the device id of the topic, unique per site
    kind                text,                   -- inferred on first messages, editable
    name                text,
    online              boolean,                -- from the status channel (last will included)
    status_changed_at   timestamptz,
    first_seen          timestamptz NOT NULL,
    last_seen           timestamptz NOT NULL,
    attrs               jsonb NOT NULL DEFAULT '{}',
    UNIQUE (site_id, device_key)
);

-- Names gateways use for devices, e.g. a Zigbee2MQTT friendly name under its base topic.
CREATE TABLE device_aliases (
    source      text NOT NULL,                  -- "zigbee2mqtt:<base topic>"
    name        text NOT NULL,
    device_id   bigint NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, name)
);

-- One row per (device, metric): readings reference it by a 4-byte id, which keeps them narrow.
CREATE TABLE series (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id   bigint NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    metric      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (device_id, metric)
);

-- No foreign key to series: the writer only uses ids it resolved in the same transaction, and a
-- per-row FK check would cost a large part of the insert rate.
-- The primary key makes writes idempotent: a redelivered message stores nothing new.
CREATE TABLE readings (
    series_id   integer NOT NULL,
    ts          timestamptz NOT NULL,
    value       double precision NOT NULL,
    PRIMARY KEY (series_id, ts)
);

CREATE TABLE events (
    device_id   bigint NOT NULL,
    ts          timestamptz NOT NULL,
    type        text NOT NULL,
    subject     text NOT NULL DEFAULT '',
    attrs       jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (device_id, ts, type, subject)
);
CREATE INDEX events_ts_idx ON events (ts DESC);

CREATE TABLE rejected_messages (
    id              bigint GENERATED ALWAYS AS IDENTITY,
    received_at     timestamptz NOT NULL,
    topic           text NOT NULL,
    payload_prefix  bytea NOT NULL,
    payload_size    integer NOT NULL,
    reason          text NOT NULL,
    -- sha256 of topic and payload: a broker redelivery of the same bad message is stored once.
    fingerprint     bytea NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX rejected_messages_received_at_idx ON rejected_messages (received_at DESC);
CREATE INDEX rejected_messages_fingerprint_idx ON rejected_messages (fingerprint);

-- For people: readings with their site, device and metric names.
CREATE VIEW readings_named AS
SELECT d.site_id AS site, d.device_key AS device, d.kind, s.metric, r.ts, r.value
FROM readings r
JOIN series s ON s.id = r.series_id
JOIN devices d ON d.id = s.device_id;
