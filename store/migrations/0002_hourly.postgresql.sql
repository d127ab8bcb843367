-- Hourly rollup on plain PostgreSQL: a table the writer keeps current in the same transaction
-- as the readings it adds (exact, and idempotent since only newly inserted rows are counted).
CREATE TABLE readings_hourly_rollup (
    series_id       integer NOT NULL,
    bucket          timestamptz NOT NULL,
    sample_count    bigint NOT NULL,
    sum_value       double precision NOT NULL,
    min_value       double precision NOT NULL,
    max_value       double precision NOT NULL,
    PRIMARY KEY (series_id, bucket)
);

-- The query surface shared with TimescaleDB's continuous aggregate of the same name.
CREATE VIEW readings_hourly AS
SELECT series_id, bucket, sum_value / sample_count AS avg_value, min_value, max_value, sample_count
FROM readings_hourly_rollup;
