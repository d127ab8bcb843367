-- What each ingest worker is storing right now, committed before it tries (store/in_flight.py):
-- after the worker dies mid-write (a crash, an OOM kill), its restart knows which redelivered
-- messages were in flight, and tries them alone; one that was in flight alone is not tried again.
-- One row per worker (its MQTT client id), overwritten by every batch.
CREATE TABLE ingest_in_flight (
    worker          text PRIMARY KEY,
    -- True when the row names one message being stored on its own (a suspect's retry).
    alone           boolean NOT NULL,
    -- 128-bit digests of topic and payload, 16 bytes each, concatenated.
    fingerprints    bytea NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
-- Digests do not compress: do not try, at every batch.
ALTER TABLE ingest_in_flight ALTER COLUMN fingerprints SET STORAGE EXTERNAL;
