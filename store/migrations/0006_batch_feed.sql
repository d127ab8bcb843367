-- The committed-batch feed: every ingest transaction appends what it wrote, in the same
-- transaction, for rules engines in other processes (or restarted ones) to consume. Appends are
-- serialised by a transaction-scoped advisory lock taken just before the insert, so ids become
-- visible in id order and a consumer's high-water mark never skips a late-committing batch.
CREATE TABLE batch_feed (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    committed_at    timestamptz NOT NULL DEFAULT now(),
    sites           text[] NOT NULL,
    -- Readings as parallel arrays (series id, epoch seconds, value): compact, and built by the
    -- server from the writer's staging table without a Python round trip.
    series_ids      integer[] NOT NULL DEFAULT '{}',
    epochs          double precision[] NOT NULL DEFAULT '{}',
    reading_values  double precision[] NOT NULL DEFAULT '{}',
    -- [{"d": device id, "t": epoch s, "type": ..., "subject": ..., "attrs": {...}}]
    events          jsonb NOT NULL DEFAULT '[]',
    -- [{"site": ..., "device": ..., "t": epoch s, "online": bool}]
    statuses        jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX batch_feed_sites_idx ON batch_feed USING gin (sites);

-- How far the rules engines got, per site: advanced in the transaction that records the
-- alerts a batch led to, so a restarted engine resumes exactly where the last commit left it.
CREATE TABLE feed_cursors (
    site_id     text PRIMARY KEY,
    batch_id    bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
